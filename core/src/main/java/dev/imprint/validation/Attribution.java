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
            return fit.withStrategy(strategy) + "|" + damping;
        }

        @Override
        public float[][] scores(Inputs in, Progress progress) {
            Preconditioners pre = InfluenceAnalysis.fit(in.model(), in.store(), in.modelFingerprint(), in.factorsDir(), fit.withStrategy(strategy),
                    damping, new StageProgress(progress));
            var results = InfluenceAnalysis.score(in.model(), in.store(), pre, in.queries(), null,
                    new InfluenceAnalysis.ScoreSettings(1, batchSize, true, 0, 0), progress);
            float[][] out = new float[results.size()][];
            for (int q = 0; q < out.length; q++) out[q] = results.get(q).scores();
            return out;
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
                for (int i = 0; i < out[q].length; i++) out[q][i] = (float) gaussian(rng);
            }
            return out;
        }

        private static double gaussian(SplittableRandom rng) {
            double u = 1 - rng.nextDouble(), v = rng.nextDouble(); // Box–Muller; u in (0, 1]
            return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        }
    }

    /** The attribution a name stands for: a curvature strategy, tfidf or random. */
    static Attribution parse(String name, InfluenceAnalysis.FitSettings fit, Damping damping, int batchSize, long seed) {
        return switch (name) {
            case "tfidf" -> new TfIdf();
            case "random" -> new Random(seed);
            default -> new Influence(Strategy.parse(name), fit, damping, batchSize);
        };
    }
}
