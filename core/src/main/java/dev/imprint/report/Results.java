package dev.imprint.report;

import java.util.List;

/**
 * The content of {@code results.json}: one schema, written by {@link ResultsJson#write} and read back
 * by {@link ResultsJson#read} (for the HTML report). Keys are the component names in snake_case
 * ({@code scorePerCopy} ↦ {@code score_per_copy}).
 *
 * @param imprint   the version of Imprint that wrote the file
 * @param run       what produced the results
 * @param scoreUnit the unit of a raw and of a per-copy score, in words
 * @param queries   one entry per query, in the order given
 */
public record Results(String imprint, RunInfo run, String scoreUnit, List<QueryResults> queries) {

    /**
     * One query: its text, its measurement and the sequences that influence it most.
     *
     * @param logProb          log p(completion | prompt) under the model (nats)
     * @param promptTokens     number of prompt tokens
     * @param completionTokens number of completion tokens
     * @param distribution     how the scores of all N sequences are spread; null when not all scores were kept
     * @param top              the most positively influential sequences, best first
     */
    public record QueryResults(String id, String prompt, String completion, double logProb, int promptTokens,
                               int completionTokens, ScoreDistribution distribution, List<TopSequence> top) {}

    /**
     * One influential training sequence, with its score explained per layer and per token (method §4).
     *
     * @param rank         1 for the most influential
     * @param sequence     sequence index in the store
     * @param document     id of the document whose piece carries the largest share of the score (Eq. 31's token terms summed over the piece)
     * @param documents    every document piece inside the sequence, in order
     * @param score        raw influence (see {@link Results#scoreUnit})
     * @param scorePerCopy score ÷ N
     * @param layers       (L) raw influence per tracked layer (Eq. 30), in the order of {@link RunInfo#layers}
     * @param text         the sequence's text
     * @param tokens       (T) each token's place in {@code text} and its raw term (Eq. 31); the term at
     *                     position t comes from predicting token t+1
     * @param trained      whether the model trained on the sequence; null when its training set is not recorded
     * @param context      the text around the piece of {@code document} in that document; null in older results
     */
    public record TopSequence(int rank, int sequence, String document, List<DocumentPiece> documents, double score,
                              double scorePerCopy, double[] layers, String text, List<TokenScore> tokens, Boolean trained, Context context) {
        /** Above this ‖a‖₂ / ‖a‖₁ of the token terms a sequence's influence comes from a few tokens (the paper's heuristic, Sec. 5.2). */
        public static final double FEW_TOKENS = 2.0 / 3.0;

        /** ‖a‖₂ / ‖a‖₁ of the token terms a: 1 when one token carries everything, 1/√T when all T carry the same. */
        public double tokenConcentration() {
            double l1 = 0, l2 = 0;
            for (TokenScore t : tokens) {
                l1 += Math.abs(t.score());
                l2 += t.score() * t.score();
            }
            return l1 == 0 ? 0 : Math.sqrt(l2) / l1;
        }
    }

    /**
     * Where the sequence's carrying piece sits in its document: up to {@link ResultsJson#CONTEXT_CHARS}
     * characters before it (from a word start) and after it (to a word end), and the piece itself;
     * {@code more} tells whether the document goes on before and after what is shown.
     */
    public record Context(String before, String piece, String after, boolean moreBefore, boolean moreAfter) {}

    /**
     * Where a piece of a document sits: characters in the document, tokens in the sequence, and the
     * share of the sequence's score that its token terms carry (null in results written before it was recorded).
     */
    public record DocumentPiece(String id, int charStart, int charEnd, int tokenStart, int tokenEnd, Double share) {}

    /** Token t's characters [start, end) in the sequence text and its raw influence term. */
    public record TokenScore(int start, int end, double score) {}
}
