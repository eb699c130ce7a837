package dev.imprint.data;

/**
 * How tokenized documents become training sequences of at most {@code seqLen} tokens. Every
 * document is followed by the tokenizer's end-of-text token.
 */
public sealed interface Packing {
    /**
     * The default (and the paper's setting, method §1: the loss is per fixed-length sequence):
     * documents are concatenated, each followed by end-of-text, and the stream is cut every
     * {@code seqLen} tokens. A long document spans several sequences; a sequence may hold the end
     * of one document and the start of the next. The last sequence keeps its true (shorter) length
     * rather than being dropped, so every corpus token is in exactly one sequence.
     */
    Concatenate CONCATENATE = new Concatenate();

    /** Name recorded in {@code store.json} and in the fingerprint. */
    String describe();

    /** See {@link #CONCATENATE}. */
    record Concatenate() implements Packing {
        @Override
        public String describe() {
            return "concatenate";
        }
    }

    /**
     * One document per sequence (its tokens, then end-of-text). A document of more than
     * {@code seqLen - 1} tokens is cut to its first {@code seqLen} tokens (no end-of-text) when
     * {@code truncate}, and is an {@link dev.imprint.InputException} otherwise.
     */
    record PerDocument(boolean truncate) implements Packing {
        @Override
        public String describe() {
            return truncate ? "per-document/truncate" : "per-document/reject";
        }
    }
}
