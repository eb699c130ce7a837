package dev.imprint.data;

/**
 * The contents of a store's {@code store.json}, written last: a store directory without it is
 * incomplete.
 *
 * @param format        always {@link #FORMAT}
 * @param version       {@link SequenceStore#FORMAT_VERSION} of the writer
 * @param fingerprint   {@link Fingerprint} of what the store was built from
 * @param seqLen        maximum tokens per sequence
 * @param packing       {@link Packing#describe()}
 * @param vocabSize     tokenizer vocabulary size; every token id is below it
 * @param endOfText     the end-of-text id that follows every document
 * @param endOfTextText the end-of-text token's text, shown between documents in sequence texts
 * @param tokenBytes    2 (unsigned 16-bit ids, when vocabSize ≤ 65536) or 4 (signed 32-bit)
 * @param documents     number of (non-empty) documents
 * @param sequences     number of sequences
 * @param pieces        number of document pieces over all sequences
 * @param tokens        number of tokens over all sequences
 * @param chars         number of UTF-16 chars of all document texts
 * @param corpus        the corpus path at build time (informational; not part of the fingerprint)
 * @param tokenizer     the tokenizer id given at build time
 * @param checksums     each store file's CRC32C (8 hex digits), checked when the store is opened;
 *                      null in stores written before checksums were kept
 */
public record StoreInfo(String format, int version, String fingerprint, int seqLen, String packing,
                        int vocabSize, int endOfText, String endOfTextText, int tokenBytes,
                        int documents, int sequences, int pieces, long tokens, long chars,
                        String corpus, String tokenizer, java.util.Map<String, String> checksums) {
    public static final String FORMAT = "imprint-sequence-store";

    public StoreInfo {
        if (!FORMAT.equals(format)) throw new IllegalArgumentException("format \"" + format + "\" is not " + FORMAT);
        if (tokenBytes != 2 && tokenBytes != 4) throw new IllegalArgumentException("token width " + tokenBytes + " is neither 2 nor 4");
        if (tokenBytes == 2 && vocabSize > 65536) throw new IllegalArgumentException("vocabulary of " + vocabSize + " does not fit 16-bit ids");
        if (seqLen < 2 || documents < 1 || sequences < 1 || pieces < sequences || tokens < sequences || chars < 0)
            throw new IllegalArgumentException("inconsistent counts: seqLen " + seqLen + ", " + documents + " documents, "
                    + sequences + " sequences, " + pieces + " pieces, " + tokens + " tokens");
    }

    /** Bytes per token id for a vocabulary: 16-bit when every id fits. */
    static int tokenBytesFor(int vocabSize) {
        return vocabSize <= 65536 ? 2 : 4;
    }
}
