package dev.imprint.data;

/**
 * The contents of a TF-IDF index's {@code tfidf.json}, written before the index directory is
 * renamed into place: what the index was built from, so a changed store rebuilds it.
 *
 * @param format           always {@link #FORMAT}
 * @param version          {@link TfIdfIndex#FORMAT_VERSION} of the writer
 * @param storeFingerprint the indexed store's {@link SequenceStore#fingerprint()}
 * @param sequences        number of indexed sequences (one Lucene document each)
 */
public record TfIdfIndexInfo(String format, int version, String storeFingerprint, int sequences) {
    public static final String FORMAT = "imprint-tfidf-index";

    public TfIdfIndexInfo {
        if (!FORMAT.equals(format)) throw new IllegalArgumentException("format \"" + format + "\" is not " + FORMAT);
        if (sequences < 1) throw new IllegalArgumentException("an index of " + sequences + " sequences");
    }

    /** The info of an index of {@code store} written by this version. */
    static TfIdfIndexInfo of(SequenceStore store) {
        return new TfIdfIndexInfo(FORMAT, TfIdfIndex.FORMAT_VERSION, store.fingerprint(), store.size());
    }
}
