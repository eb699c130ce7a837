package dev.imprint.peer;

import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.influence.Correlation;
import dev.imprint.influence.FittingPass;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.InfluenceScorer;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.influence.QueryGradient;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelDirectory;
import dev.imprint.model.TrackedLayer;

import java.nio.file.Path;
import java.util.List;

/**
 * Block-diagonal factors (method §3) against dense ones, as the paper's Fig. 30: EK-FAC is fitted
 * with O = 1, 2, 4, 8, 16 diagonal blocks per Kronecker factor (each into FACTORS_ROOT/blocks-O,
 * reused when there), the same queries are scored exactly against a seeded sample of training
 * sequences with each, and each O's scores are correlated with O = 1's. Prints per O the factor
 * memory (covariance-pass state and eigenbases) and the mean and lowest Pearson and Spearman
 * correlation over the queries.
 *
 * <p>Usage: {@code BlockDiagonalEval MODEL_DIR CORPUS CACHE FACTORS_ROOT QUERIES_JSONL [random-queries] [sample] [fitting]}
 */
public final class BlockDiagonalEval {
    private BlockDiagonalEval() {}

    static final int[] BLOCKS = {1, 2, 4, 8, 16};

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]), corpus = Path.of(args[1]), cache = Path.of(args[2]), root = Path.of(args[3]), queryFile = Path.of(args[4]);
        int randomQueries = args.length > 5 ? Integer.parseInt(args[5]) : 8, sample = args.length > 6 ? Integer.parseInt(args[6]) : 512;
        int fitting = args.length > 7 ? Integer.parseInt(args[7]) : InfluenceAnalysis.FitSettings.DEFAULT_FITTING_SEQUENCES;
        try (ModelDirectory dir = ModelDirectory.load(modelDir);
             SequenceStore store = StoreCache.forCorpus(corpus, cache, dir.tokenizer(), StoreCache.fileId(modelDir.resolve("tokenizer.json")),
                     dir.config().contextLength(), Progress.NONE)) {
            LanguageModel model = dir.model(LayerSelection.MLP);
            List<TrackedLayer> layers = model.trackedLayers();
            List<Query> queries = BatchingEval.queries(queryFile, dir, store, randomQueries);
            int[] sequences = store.sample(Math.min(sample, store.size()), 77);
            java.util.Arrays.sort(sequences);
            int Q = queries.size(), N = sequences.length;
            System.out.printf("%d queries, %d of %d sequences, %d fitting sequences, %d tracked layers%n", Q, N, store.size(), fitting, layers.size());
            double[][][] scores = new double[BLOCKS.length][Q][N];
            long[] covarianceBytes = new long[BLOCKS.length], basisBytes = new long[BLOCKS.length];
            double[] fitSeconds = new double[BLOCKS.length];
            for (int o = 0; o < BLOCKS.length; o++) {
                int blocks = BLOCKS[o];
                for (TrackedLayer l : layers) {
                    covarianceBytes[o] += FactorFitter.covarianceBytes(l, blocks);
                    basisBytes[o] += FactorFitter.basisBytes(l, blocks);
                }
                long t0 = System.nanoTime();
                Preconditioners pre = InfluenceAnalysis.fit(model, store, dir.fingerprint(), root.resolve("blocks-" + blocks),
                        new InfluenceAnalysis.FitSettings(Strategy.defaultStrategy(), fitting, 8, 0, FittingPass.Labels.SAMPLED, blocks),
                        Damping.paperDefault(), FitProgress.NONE);
                fitSeconds[o] = (System.nanoTime() - t0) / 1e9;
                List<PreparedQuery> prepared = queries.stream().map(q -> QueryGradient.compute(model, q).precondition(pre, layers)).toList();
                InfluenceScorer scorer = new InfluenceScorer(model, prepared);
                for (int from = 0; from < N; from += 8) {
                    int[] idx = java.util.Arrays.copyOfRange(sequences, from, Math.min(N, from + 8));
                    double[][] s = scorer.score(store.batch(idx));
                    for (int q = 0; q < Q; q++) System.arraycopy(s[q], 0, scores[o][q], from, idx.length);
                }
                System.err.printf("  O = %d: fitted (or reused) in %.0f s, scored%n", blocks, fitSeconds[o]);
            }
            System.out.printf("%4s %14s %12s %10s %10s %10s %10s%n", "O", "covariance MiB", "basis MiB", "Pearson", "min", "Spearman", "min");
            for (int o = 0; o < BLOCKS.length; o++) {
                double p = 0, s = 0, pMin = 1, sMin = 1;
                for (int q = 0; q < Q; q++) {
                    double pq = Correlation.pearson(scores[0][q], scores[o][q]), sq = Correlation.spearman(scores[0][q], scores[o][q]);
                    p += pq / Q;
                    s += sq / Q;
                    pMin = Math.min(pMin, pq);
                    sMin = Math.min(sMin, sq);
                }
                System.out.printf("%4d %14.1f %12.1f %10.4f %10.4f %10.4f %10.4f%n", BLOCKS[o], covarianceBytes[o] / 1048576.0, basisBytes[o] / 1048576.0, p, pMin, s, sMin);
            }
        }
    }
}
