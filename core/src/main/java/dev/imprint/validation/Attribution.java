package dev.imprint.validation;

import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.TfIdfIndex;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.model.LanguageModel;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A way to score every training sequence against each query, compared by validation (method §7):
 * influence with one of the curvature strategies, or a baseline that knows nothing of the model.
 */
public sealed interface Attribution {
    /** The name in tables and in {@code validation.json}. */
    String name();

    /** What the scores depend on besides the model, the store and the queries (part of the cached scores' fingerprint). */
    String arguments();

    /** scores[q][i]: sequence i of the store against query q, higher meaning more helpful. */
    float[][] scores(Inputs in, Progress progress);

    /**
     * The same, from its stage file under {@code stages} when one with the same fingerprint (of
     * {@link #arguments}, the model, the store and the queries) is there, else computed and written.
     */
    default float[][] cachedScores(Inputs in, Path stages, Progress progress) {
        Path file = scoresFile(stages, in);
        int Q = in.queries().size(), N = in.store().size();
        if (java.nio.file.Files.exists(file)) {
            try (dev.imprint.io.SafeTensors st = dev.imprint.io.SafeTensors.open(file)) {
                float[] flat = st.floats("scores");
                if (flat.length == (long) Q * N) {
                    float[][] out = new float[Q][];
                    for (int q = 0; q < Q; q++) out[q] = java.util.Arrays.copyOfRange(flat, q * N, (q + 1) * N);
                    return out;
                }
            } catch (RuntimeException e) {
                // a damaged stage file is computed again below
            }
        }
        float[][] s = scores(in, progress);
        long bad = java.util.Arrays.stream(s).mapToLong(row -> { long c = 0; for (float x : row) if (!Float.isFinite(x)) c++; return c; }).sum();
        if (bad > 0)
            throw new dev.imprint.InputException(name() + ": " + bad + " scores are not finite" + (this instanceof Lissa
                    ? " (the recursion diverged: leave --lissa-scale at 0, or give a larger one)" : "") + "; nothing was cached");
        float[] flat = new float[Math.multiplyExact(Q, N)];
        for (int q = 0; q < Q; q++) System.arraycopy(s[q], 0, flat, q * N, N);
        try {
            java.nio.file.Files.createDirectories(file.getParent());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot create " + file.getParent() + " (" + e.getMessage() + ")", e);
        }
        dev.imprint.io.SafeTensors.write(file, java.util.Map.of("scores", dev.imprint.io.SafeTensors.Tensor.f32(flat, Q, N)),
                java.util.Map.of("attribution", name(), "arguments", arguments()));
        return s;
    }

    /** The stage file of the scores, named by the fingerprint of everything they depend on. */
    default Path scoresFile(Path stages, Inputs in) {
        StringBuilder key = new StringBuilder(arguments()).append('|').append(in.modelFingerprint()).append('|').append(in.store().fingerprint())
                .append('|').append(in.model().trackedLayers().stream().map(dev.imprint.model.TrackedLayer::name).toList());
        for (Query q : in.queries()) key.append('|').append(java.util.Arrays.toString(q.tokens())).append('/').append(q.completionTokens().length);
        return stages.resolve("scores").resolve(name() + "-" + dev.imprint.io.Sha256.ofText(key.toString()).substring(0, 16) + ".safetensors");
    }

    /** Scores of each attribution from {@link #cachedScores}, with the seconds each took in this run (0 when read from disk). */
    static java.util.Map<String, float[][]> scoresOf(List<Attribution> attributions, Inputs in, Path stages, Progress progress,
                                                      java.util.Map<String, Double> seconds) {
        java.util.Map<String, float[][]> out = new java.util.LinkedHashMap<>();
        for (Attribution a : attributions) {
            long t0 = System.nanoTime();
            boolean cached = java.nio.file.Files.exists(a.scoresFile(stages, in));
            out.put(a.name(), a.cachedScores(in, stages, progress));
            seconds.put(a.name(), cached ? 0 : (System.nanoTime() - t0) / 1e9);
        }
        return out;
    }

    /**
     * What an attribution scores with.
     *
     * @param model            the trained model
     * @param modelFingerprint its fingerprint
     * @param store            its training sequences
     * @param queries          the queries
     * @param factorsDir       where curvature factors are fitted (shared by the strategies)
     */
    record Inputs(LanguageModel model, String modelFingerprint, SequenceStore store, List<Query> queries, Path factorsDir) {}

    /** Influence (method §4) with {@code strategy}'s preconditioner, exact (full rank), over every sequence. */
    record Influence(Strategy strategy, InfluenceAnalysis.FitSettings fit, Damping damping, int batchSize) implements Attribution {
        @Override
        public String name() {
            return strategy.name();
        }

        @Override
        public String arguments() {
            return fit.withStrategy(strategy) + "|" + fit.labels().recorded() + "|" + damping;
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            Preconditioners pre = InfluenceAnalysis.fit(in.model(), in.store(), in.modelFingerprint(), in.factorsDir(), fit.withStrategy(strategy),
                    damping, new StageProgress(progress));
            return everyScore(in, pre, batchSize, progress);
        }
    }

    /**
     * Influence with the exact damped GNH of the fitting sample (method §7.2), by Woodbury: the
     * reference the strategies approximate. Holds every fitting sequence's gradient, so it is for
     * models whose N × D doubles fit the heap.
     */
    record Exact(InfluenceAnalysis.FitSettings fit, Damping damping, int batchSize) implements Attribution {
        @Override
        public String name() {
            return "exact";
        }

        @Override
        public String arguments() {
            return "exact|" + fit.withStrategy(dev.imprint.curvature.Strategy.defaultStrategy()) + "|" + fit.labels().recorded() + "|" + damping;
        }

        /** Bytes the exact preconditioners of {@code model} take for {@code n} fitting sequences. */
        public static long bytes(LanguageModel model, int n) {
            long b = 0;
            for (var l : model.trackedLayers()) b += dev.imprint.curvature.ExactPreconditioner.bytes(l.outFeatures(), l.activationDim(), n);
            return b;
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            return sampleGradientScores(in, fit, batchSize, "Exact GNH", progress,
                    (pass, n) -> dev.imprint.curvature.ExactPreconditioner.fit(in.model(), pass, n, damping));
        }
    }

    /** The paper's TF-IDF score of a sequence against the query's prompt and completion (method §6, Eq. 28–29), the model unused. */
    record TfIdf() implements Attribution {
        @Override
        public String name() {
            return "tfidf";
        }

        @Override
        public String arguments() {
            return "tfidf";
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            try (TfIdfIndex index = TfIdfIndex.openOrBuild(in.store(), progress)) {
                float[][] out = new float[in.queries().size()][];
                for (int q = 0; q < out.length; q++) out[q] = index.scores(in.queries().get(q).tokens());
                return out;
            }
        }
    }

    /** Independent standard normal scores, seeded: what a ranking that knows nothing scores (LDS near 0). */
    record Random(long seed) implements Attribution {
        @Override
        public String name() {
            return "random";
        }

        @Override
        public String arguments() {
            return "random|" + seed;
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            float[][] out = new float[in.queries().size()][in.store().size()];
            for (int q = 0; q < out.length; q++) {
                SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + q);
                for (int i = 0; i < out[q].length; i++) out[q][i] = (float) rng.nextGaussian();
            }
            return out;
        }
    }

    /** The most fitting sequences whose N × N system fits one Java array. */
    int MAX_GRADIENT_SAMPLE = 46_340;

    /** Exact (full-rank) scores of every sequence against every query with {@code pre}. */
    private static float[][] everyScore(Inputs in, Preconditioners pre, int batchSize, Progress progress) {
        var results = InfluenceAnalysis.score(in.model(), in.store(), pre, in.queries(), null,
                new InfluenceAnalysis.ScoreSettings(1, batchSize, true, 0, 0), progress);
        float[][] out = new float[results.size()][];
        for (int q = 0; q < out.length; q++) out[q] = results.get(q).scores();
        return out;
    }

    /**
     * Scores with preconditioners {@code build} makes from one pass over the fitting sample (which
     * keeps every sequence's gradient: the exact solve and LiSSA).
     */
    private static float[][] sampleGradientScores(Inputs in, InfluenceAnalysis.FitSettings fit, int batchSize, String what, Progress progress,
                                                  java.util.function.BiFunction<dev.imprint.influence.FittingPass, Integer, Preconditioners> build) {
        int[] fitting = gradientSample(in, fit, what);
        progress.start(what + ": per-sequence gradients of the fitting sample", 1, Progress.Unit.ITEMS);
        Preconditioners pre;
        try {
            pre = build.apply(new dev.imprint.influence.FittingPass(in.model(), in.store(), fitting, fit.batchSize(), fit.seed(), fit.labels()), fitting.length);
            progress.step(1);
        } finally {
            progress.done();
        }
        return everyScore(in, pre, batchSize, progress);
    }

    /** The fitting sample, refused in one line when its per-sequence gradients would not fit (half the heap, one array). */
    private static int[] gradientSample(Inputs in, InfluenceAnalysis.FitSettings fit, String what) {
        int n = Math.min(fit.fittingSequences(), in.store().size());
        if (n > MAX_GRADIENT_SAMPLE)
            throw new dev.imprint.InputException(what + " solves an N × N system: at most " + MAX_GRADIENT_SAMPLE + " fitting sequences, not " + n
                    + "; give fewer --fitting-sequences");
        for (var l : in.model().trackedLayers())
            if ((long) n * l.outFeatures() * l.activationDim() > Integer.MAX_VALUE)
                throw new dev.imprint.InputException(what + ": " + n + " gradients of " + l.name() + " exceed one array; give fewer --fitting-sequences");
        long need = Exact.bytes(in.model(), n), heap = Runtime.getRuntime().maxMemory();
        if (need > heap / 2)
            throw dev.imprint.InputException.outOfMemory(what + " of " + n + " fitting sequences holds their gradients: " + (need >> 20)
                    + " MiB, more than half the " + (heap >> 20) + " MiB heap; give fewer --fitting-sequences or more IMPRINT_HEAP");
        return in.store().sample(n, fit.seed());
    }

    /**
     * Influence through LiSSA (method §7.4) over the fitting sample's per-sequence gradients: the
     * classical stochastic baseline, for validation.
     */
    record Lissa(InfluenceAnalysis.FitSettings fit, Damping damping, int batchSize, dev.imprint.curvature.LissaPreconditioner.Settings lissa)
            implements Attribution {
        @Override
        public String name() {
            return "lissa";
        }

        @Override
        public String arguments() {
            return "lissa|" + fit.withStrategy(dev.imprint.curvature.Strategy.defaultStrategy()) + "|" + fit.labels().recorded() + "|" + damping + "|" + lissa;
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            return sampleGradientScores(in, fit, batchSize, "LiSSA", progress,
                    (pass, n) -> dev.imprint.curvature.LissaPreconditioner.fit(in.model(), pass, n, damping, lissa));
        }
    }

    /** The attribution a name stands for: a curvature strategy, exact, lissa, tfidf or random. */
    static Attribution parse(String name, InfluenceAnalysis.FitSettings fit, Damping damping, int batchSize, long seed,
                             dev.imprint.curvature.LissaPreconditioner.Settings lissa) {
        return switch (name) {
            case "exact" -> new Exact(fit, damping, batchSize);
            case "lissa" -> new Lissa(fit, damping, batchSize, lissa);
            case "tfidf" -> new TfIdf();
            case "random" -> new Random(seed);
            case "identity", "diagonal", "kfac", "kfac-sequence", "ekfac" -> new Influence(Strategy.parse(name), fit, damping, batchSize);
            default -> throw new dev.imprint.InputException("unknown attribution '" + name
                    + "' (expected identity, diagonal, kfac, kfac-sequence, ekfac, exact, lissa, tfidf or random)");
        };
    }
}
