package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FactorArguments;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.model.GPT2;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The library's entry point: fit curvature factors for a model and a sequence store, then score
 * queries against every training sequence.
 *
 * <pre>{@code
 * GPT2 model = new GPT2(Parameters.load(dir.resolve("model.safetensors"), config), LayerSelection.MLP);
 * Preconditioners pre = InfluenceAnalysis.fit(model, store, modelId, factorsDir, FitSettings.defaults(), Damping.paperDefault(), FitProgress.NONE);
 * List<QueryResult> results = InfluenceAnalysis.score(model, store, pre, List.of(query), ScoreSettings.defaults(), Progress.NONE);
 * }</pre>
 */
public final class InfluenceAnalysis {
    private InfluenceAnalysis() {}

    /**
     * How factors are fitted.
     *
     * @param strategy         identity, diagonal, kfac or ekfac
     * @param fittingSequences size of the seeded fitting sample (capped at the store size)
     * @param batchSize        sequences per forward/backward
     * @param seed             fitting sample and label sampling
     * @param labels           sampled (the Fisher) or true (empirical Fisher)
     */
    public record FitSettings(Strategy strategy, int fittingSequences, int batchSize, long seed, FittingPass.Labels labels) {
        public FitSettings {
            if (fittingSequences < 1) throw new IllegalArgumentException("fitting sequences " + fittingSequences + " must be at least 1");
            if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
        }

        public static FitSettings defaults() {
            return new FitSettings(Strategy.defaultStrategy(), 1000, 8, 0, FittingPass.Labels.SAMPLED);
        }
    }

    /**
     * How queries are scored.
     *
     * @param topK      sequences kept per query (with layer and token explanations)
     * @param batchSize training sequences per forward/backward
     * @param keepAll   also return every sequence's score (for distributions and dense output)
     */
    public record ScoreSettings(int topK, int batchSize, boolean keepAll) {
        public ScoreSettings {
            if (topK < 1) throw new IllegalArgumentException("top-k " + topK + " must be at least 1");
            if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
        }

        public static ScoreSettings defaults() {
            return new ScoreSettings(10, 8, true);
        }
    }

    /**
     * One influential training sequence.
     *
     * @param sequence     index in the store
     * @param score        I(z) = qᵀ(G+λI)⁻¹ r (SPEC §1), raw
     * @param scorePerCopy score ÷ N: nats of log p(completion) gained by adding one more copy of z
     * @param layers       Eq. 30 terms, in tracked-layer order
     * @param tokens       Eq. 31 terms per position (position t's term comes from predicting token t+1)
     */
    public record Hit(int sequence, double score, double scorePerCopy, double[] layers, double[] tokens) {}

    /**
     * One query's result.
     *
     * @param query   the query
     * @param logProb log p(completion | prompt) under the model (nats)
     * @param top     the most positively influential sequences, best first
     * @param scores  every sequence's raw score (index = sequence), or null when not kept
     */
    public record QueryResult(Query query, double logProb, List<Hit> top, float[] scores) {}

    /** Fits (or reuses, when {@code factorsDir} holds them for the same arguments) the strategy's factors. */
    public static Preconditioners fit(GPT2 model, SequenceStore store, String modelFingerprint, Path factorsDir,
                                      FitSettings settings, Damping damping, FitProgress progress) {
        int[] fitting = store.sample(Math.min(settings.fittingSequences(), store.size()), settings.seed());
        // the label choice changes every stage's output, so it is part of what the factors depend on
        String modelAndLabels = modelFingerprint + "|labels=" + settings.labels().name().toLowerCase();
        FactorArguments args = new FactorArguments(modelAndLabels, store.fingerprint(), fitting.length, settings.seed(), model.trackedLayers());
        CurvatureFactors factors = CurvatureFactors.open(factorsDir, args);
        new FactorFitter(factors, progress).fit(settings.strategy(), new FittingPass(model, store, fitting, settings.batchSize(), settings.seed(), settings.labels()));
        return settings.strategy().preconditioners(factors, damping);
    }

    /**
     * The preconditioners of factors fitted earlier by {@link #fit} into {@code factorsDir}: the
     * fitting sample size, seed and label choice are read from its arguments file, the model and
     * store must be the ones it was fitted for, and every stage {@code strategy} reads must be there.
     */
    public static Preconditioners openFitted(GPT2 model, SequenceStore store, String modelFingerprint, Path factorsDir,
                                             Strategy strategy, Damping damping) {
        Path file = factorsDir.resolve(CurvatureFactors.ARGUMENTS_FILE);
        if (!java.nio.file.Files.exists(file))
            throw new InputException(factorsDir + ": no fitted factors here (run 'imprint fit' first)");
        com.fasterxml.jackson.databind.JsonNode stored;
        try {
            stored = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        } catch (java.io.IOException e) {
            throw new InputException(file + ": unreadable (" + e.getMessage() + ")", e);
        }
        String storedModel = stored.path("model_fingerprint").asText();
        int labelsAt = storedModel.lastIndexOf("|labels=");
        String labels = labelsAt < 0 ? "sampled" : storedModel.substring(labelsAt + "|labels=".length());
        FactorArguments args = new FactorArguments(modelFingerprint + "|labels=" + labels, store.fingerprint(),
                stored.path("fitting_sequences").asInt(), stored.path("seed").asLong(), model.trackedLayers());
        CurvatureFactors factors = CurvatureFactors.open(factorsDir, args);
        for (dev.imprint.curvature.Stage stage : strategy.stages())
            if (!factors.complete(stage))
                throw new InputException(factorsDir + ": the " + stage.title() + " for strategy " + strategy.name()
                        + " has not been fitted (run 'imprint fit --strategy " + strategy.name() + "')");
        return strategy.preconditioners(factors, damping);
    }

    /**
     * Scores every training sequence of {@code store} against every query in one pass
     * (SPEC §4), keeps each query's top-k, and explains those by layer and token.
     */
    public static List<QueryResult> score(GPT2 model, SequenceStore store, Preconditioners preconditioners, List<Query> queries,
                                          ScoreSettings settings, Progress progress) {
        List<PreparedQuery> prepared = new ArrayList<>();
        for (Query q : queries) prepared.add(QueryGradient.compute(model, q).precondition(preconditioners, model.trackedLayers()));
        InfluenceScorer scorer = new InfluenceScorer(model, prepared);
        int N = store.size(), Q = queries.size();
        TopK[] tops = new TopK[Q];
        for (int q = 0; q < Q; q++) tops[q] = new TopK(Math.min(settings.topK(), N));
        float[][] all = settings.keepAll() ? new float[Q][N] : null;
        progress.start("Scoring " + Q + (Q == 1 ? " query" : " queries"), N, Progress.Unit.ITEMS);
        for (int from = 0; from < N; from += settings.batchSize()) {
            int count = Math.min(settings.batchSize(), N - from);
            double[][] s = scorer.score(store.batch(from, count));
            for (int q = 0; q < Q; q++)
                for (int b = 0; b < count; b++) {
                    tops[q].offer(from + b, s[q][b]);
                    if (all != null) all[q][from + b] = (float) s[q][b];
                }
            progress.step(count);
        }
        progress.done();
        List<QueryResult> results = new ArrayList<>();
        for (int q = 0; q < Q; q++) {
            List<Hit> hits = new ArrayList<>();
            for (TopK.Entry e : tops[q].sorted()) {
                InfluenceScorer.Explanation x = scorer.explain(store.sequence(e.sequence()), q);
                hits.add(new Hit(e.sequence(), e.score(), e.score() / N, x.perLayer(), x.perToken()));
            }
            results.add(new QueryResult(queries.get(q), prepared.get(q).logProb(), List.copyOf(hits), all == null ? null : all[q]));
        }
        return results;
    }
}
