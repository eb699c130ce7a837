package dev.imprint.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Results built in code for the report tests: awkward texts, known signs, a heavy-tailed distribution. */
final class ReportFixtures {
    static final long SEED = 20230803;
    static final List<String> LAYERS = List.of("h.0.mlp.c_fc", "h.0.mlp.c_proj", "h.1.mlp.c_fc", "h.1.mlp.c_proj");
    static final int N = 2000;
    static final String PROMPT = "<script>alert(\"x\")</script> & 'quoted' prompt:";
    static final String COMPLETION = " </span><b>bold?</b> & done";
    /** Whitespace, a newline, markup-like characters, quotes and the end-of-text token's text. */
    static final String TEXT = "Call me Ishmael.\nSome years ago <never mind> \"how long\" & 'precisely'<|endoftext|>The whale";
    /** GPT-2-like pieces: an optional space and a word, punctuation runs, or whitespace runs. */
    private static final Pattern PIECES = Pattern.compile(" ?\\w+| ?[^\\w\\s]+|\\s+");

    private ReportFixtures() {}

    /** A run over {@link #N} sequences; {@code candidates} is "all" or a TF-IDF candidate count. */
    static RunInfo run(String candidates) {
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put("load_factors_s", 0.084);
        timings.put("score_s", 2.1);
        return new RunInfo("/models/tiny <gpt2>", "fb28da53ec5fd5c785d702fb151af4db3efc7edf42346483d3f92b9e48e93eba", "/corpus/moby & co",
                "8a67ec97a08d4382e3c77f1153d5269cf579a8d1968b82cb297e810d628d11a5", N, "ekfac", "0.1 × mean(Λ) per layer",
                LAYERS, "full", candidates, timings, 0);
    }

    /** Two queries: the first with a distribution and three top sequences, the second without a distribution. */
    static Results results(String candidates) {
        Random random = new Random(SEED);
        List<Results.TopSequence> top = List.of(
                sequence(1, 38, 8.25, new double[]{0.85, 2.2, 1.2, 4.0}, random),
                sequence(2, 7, 3.5, new double[]{0.9, 0.5, -1.1, 3.2}, random),
                sequence(3, 12, 1.25, new double[]{-0.4, 0.5, 0.1, 1.05}, random));
        Results.QueryResults first = new Results.QueryResults("q1", PROMPT, COMPLETION, -0.0819, 9, 8,
                ScoreDistribution.of(paretoScores(random)), top);
        Results.QueryResults second = new Results.QueryResults("second query", "Call me", " Ishmael", -2.5, 2, 3, null,
                List.of(sequence(1, 5, 0.5, new double[]{0.1, 0.2, 0.3, -0.1}, random)));
        return new Results(ResultsJson.VERSION, run(candidates), ResultsJson.UNIT, List.of(first, second));
    }

    /** A top sequence over {@link #TEXT} whose token terms sum to {@code score}: one strong positive, one strong negative. */
    static Results.TopSequence sequence(int rank, int index, double score, double[] layers, Random random) {
        List<int[]> spans = tokenize(TEXT);
        double[] terms = new double[spans.size()];
        for (int t = 0; t < terms.length; t++) terms[t] = 0.02 * random.nextGaussian();
        terms[2] = -0.6 * score; // " Ishmael" pulls the other way
        double rest = 0;
        for (int t = 0; t < terms.length; t++) if (t != 0) rest += terms[t];
        terms[0] = score - rest; // "Call" carries the rest, the largest |term|
        List<Results.TokenScore> tokens = new ArrayList<>();
        for (int t = 0; t < terms.length; t++) tokens.add(new Results.TokenScore(spans.get(t)[0], spans.get(t)[1], terms[t]));
        List<Results.DocumentPiece> documents = List.of(new Results.DocumentPiece("moby<1>.txt", 85, 157, 0, 20, 0.9),
                new Results.DocumentPiece("whale.txt", 0, 9, 20, spans.size(), 0.1));
        return new Results.TopSequence(rank, index, "moby<1>.txt", documents, score, score / N, layers, TEXT, tokens, null,
                new Results.Context("Chapter 1. <b>", "Call me Ishmael.", " Some years ago", true, true));
    }

    /** [start, end) of each piece of {@code text}, covering it exactly. */
    static List<int[]> tokenize(String text) {
        List<int[]> spans = new ArrayList<>();
        Matcher m = PIECES.matcher(text);
        while (m.find()) spans.add(new int[]{m.start(), m.end()});
        return spans;
    }

    /** N scores: a Pareto(α = 3) positive part and a Gaussian negative part, seeded. */
    static float[] paretoScores(Random random) {
        float[] scores = new float[N];
        for (int i = 0; i < N; i++)
            scores[i] = i % 2 == 0 ? (float) (0.01 * Math.pow(1 - random.nextDouble(), -1 / 2.0)) : (float) (-0.01 * Math.abs(random.nextGaussian()));
        return scores;
    }
}
