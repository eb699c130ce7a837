package dev.imprint.data;

import dev.imprint.model.Tokenizer;

/**
 * Everything a {@link SequenceStore} is built from; its {@link Fingerprint} decides whether an
 * existing store can be reused.
 *
 * @param corpus      the documents
 * @param tokenizer   the model's tokenizer
 * @param tokenizerId identity of the tokenizer, supplied by the caller (e.g. the SHA-256 of its
 *                    {@code tokenizer.json}); two tokenizers with the same id must tokenize alike
 * @param seqLen      maximum tokens per sequence (the training context length)
 * @param packing     how documents become sequences
 */
public record StoreSpec(Corpus corpus, Tokenizer tokenizer, String tokenizerId, int seqLen, Packing packing) {
    public StoreSpec {
        if (tokenizerId.isBlank()) throw new IllegalArgumentException("tokenizer id is blank");
        if (seqLen < 2) throw new IllegalArgumentException("sequence length " + seqLen + " is below 2");
        int v = tokenizer.vocabSize(), eot = tokenizer.endOfText();
        if (eot < 0 || eot >= v) throw new IllegalArgumentException("end-of-text id " + eot + " outside the vocabulary of " + v);
    }

    /** Default packing ({@link Packing#CONCATENATE}). */
    public StoreSpec(Corpus corpus, Tokenizer tokenizer, String tokenizerId, int seqLen) {
        this(corpus, tokenizer, tokenizerId, seqLen, Packing.CONCATENATE);
    }
}
