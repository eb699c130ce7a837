package dev.imprint.data;

import org.apache.lucene.search.CollectionStatistics;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.TermStatistics;
import org.apache.lucene.search.similarities.Similarity;

/**
 * The paper's modified Okapi BM25 (method §5, Eq. 28–29) as a Lucene {@link Similarity}: a term t of
 * the query adds to document D
 *
 * <pre>
 *   IDF(t) · (k1+1)·1[t∈D] / (k1 + 1[t∈D])                              (Eq. 28, one summand)
 *   IDF(t) = ln( (C − n(t) + 0.5) / (n(t) + 0.5) + 1 )                 (Eq. 29)
 * </pre>
 *
 * with C the number of documents (training sequences) and n(t) the number containing t, taken
 * from Lucene's {@link CollectionStatistics#docCount()} (the documents with the field: every sequence,
 * as each has at least one token) and {@link TermStatistics#docFreq()}. The
 * term frequency enters only as the indicator 1[t∈D] (no document-length normalization, unlike
 * BM25's b), so for a matching document the factor is (k1+1)/(k1+1) = 1 and the summand is IDF(t);
 * it is written out anyway so the code reads as the equation. A query boost multiplies the summand
 * ({@link TfIdfIndex} boosts a term by its number of occurrences in the query).
 *
 * <p>Fields scored with it should be indexed with {@code IndexOptions.DOCS} and without norms:
 * neither frequencies nor lengths are read.
 */
public final class PaperTfIdfSimilarity extends Similarity {
    /** The paper's k1. */
    public static final float PAPER_K1 = 1.5f;

    private final float k1;

    /** The paper's scoring, k1 = {@value #PAPER_K1}. */
    public PaperTfIdfSimilarity() {
        this(PAPER_K1);
    }

    /**
     * @throws IllegalArgumentException if {@code k1} is infinite, NaN or negative (the message is
     *                                  Lucene BM25's)
     */
    public PaperTfIdfSimilarity(float k1) {
        if (!Float.isFinite(k1) || k1 < 0)
            throw new IllegalArgumentException("illegal k1 value: " + k1 + ", must be a non-negative finite value");
        this.k1 = k1;
    }

    public float k1() {
        return k1;
    }

    /** Eq. 29, in double as written: C = {@code docCount}, n(t) = {@code docFreq}; positive whenever n(t) ≤ C. */
    public static double idf(long docFreq, long docCount) {
        return Math.log((docCount - docFreq + 0.5) / (docFreq + 0.5) + 1);
    }

    /**
     * Eq. 28's term-frequency factor (k1+1)·1[t∈D] / (k1 + 1[t∈D]): 1 when D contains t, else 0
     * (the numerator vanishes; written as a branch because with k1 = 0 the formula reads 0/0).
     */
    double tf(boolean contains) {
        if (!contains) return 0;
        double indicator = 1;
        return (k1 + 1) * indicator / (k1 + indicator);
    }

    /**
     * @throws IllegalArgumentException for statistics of more than one term (phrases): Eq. 28 scores
     *                                  single tokens
     */
    @Override
    public SimScorer scorer(float boost, CollectionStatistics collectionStats, TermStatistics... termStats) {
        if (termStats.length != 1)
            throw new IllegalArgumentException("the paper's TF-IDF scores single terms, got statistics of " + termStats.length);
        long docCount = collectionStats.docCount(), docFreq = termStats[0].docFreq();
        double idf = idf(docFreq, docCount);
        // product in double, one rounding to float at the end
        float matchScore = (float) (boost * idf * tf(true));
        return new SimScorer() {
            @Override
            public float score(float freq, long norm) {
                return freq > 0 ? matchScore : 0; // 1[t∈D] from the frequency; DOCS-only postings give freq 1
            }

            @Override
            public Explanation explain(Explanation freq, long norm) {
                Explanation idfExpl = Explanation.match((float) idf, "IDF, computed as ln((C - n + 0.5) / (n + 0.5) + 1) from:",
                        Explanation.match(docFreq, "n, number of sequences containing the token"),
                        Explanation.match(docCount, "C, number of sequences"));
                boolean contains = freq.getValue().floatValue() > 0;
                Explanation tfExpl = Explanation.match((float) tf(contains), "tf, computed as (k1 + 1) * 1[t in D] / (k1 + 1[t in D]) from:",
                        freq, Explanation.match(k1, "k1, term saturation parameter"));
                float value = score(freq.getValue().floatValue(), norm);
                String description = "score(freq=" + freq.getValue() + "), computed as boost * idf * tf from:";
                return Explanation.match(value, description, Explanation.match(boost, "boost"), idfExpl, tfExpl);
            }
        };
    }

    @Override
    public String toString() {
        return "PaperTfIdf(k1=" + k1 + ")";
    }
}
