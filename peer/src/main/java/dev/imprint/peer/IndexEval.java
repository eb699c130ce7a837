package dev.imprint.peer;

import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.data.TfIdfIndex;
import dev.imprint.index.LayerBasis;
import dev.imprint.influence.Correlation;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.model.GradientTap;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelDirectory;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Vec;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The gradient index (method §5.3) against exact scores over a whole store: one pass computes, for
 * every training sequence, the exact full-rank EK-FAC scores Σ_ℓ ⟨P_ℓ, DW̄_ℓ(z)⟩ from each
 * sequence's gradient and, for each direction count k, the index score Σ_ℓ ⟨Uᵀ P_ℓ V, Uᵀ DW̄_ℓ V⟩.
 * Prints per k the mean Pearson r with the exact scores and the recall of the exact top-10 within
 * the index's top 100 and top 1,000, beside TF-IDF's at the same K; and the cost of the index's
 * tap as a ratio to a plain forward and backward pass over the same sequences.
 *
 * <p>Usage: {@code IndexEval MODEL_DIR CORPUS CACHE FACTORS_DIR QUERIES_JSONL [random-queries] [variant,…] [timed-sequences] [timing-only]},
 * a variant being k (a k × k block per layer) or WxN (W directions on a layer's wider side, N on its
 * narrower); the tap timed is variant 32's, or the first's.
 */
public final class IndexEval {
    private IndexEval() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]), corpus = Path.of(args[1]), cache = Path.of(args[2]), factorsDir = Path.of(args[3]), queryFile = Path.of(args[4]);
        int randomQueries = args.length > 5 ? Integer.parseInt(args[5]) : 16;
        // a variant is k (the k × k block) or WxN (W directions on each layer's wider side, N on its narrower)
        String[] specs = args.length > 6 ? args[6].split(",") : new String[] {"8", "16", "32", "64"};
        int K = specs.length;
        int timed = args.length > 7 ? Integer.parseInt(args[7]) : 512;
        Strategy.Ekfac ekfac = new Strategy.Ekfac();
        try (ModelDirectory dir = ModelDirectory.load(modelDir);
             SequenceStore store = StoreCache.forCorpus(corpus, cache, dir.tokenizer(), StoreCache.fileId(modelDir.resolve("tokenizer.json")),
                     dir.config().contextLength(), Progress.NONE)) {
            LanguageModel model = dir.model(LayerSelection.MLP);
            List<TrackedLayer> layers = model.trackedLayers();
            Preconditioners pre = InfluenceAnalysis.openFitted(model, store, dir.fingerprint(), factorsDir, ekfac, Damping.paperDefault());
            CurvatureFactors factors = InfluenceAnalysis.openFactors(model, store, dir.fingerprint(), factorsDir, ekfac);
            List<Query> queries = BatchingEval.queries(queryFile, dir, store, randomQueries);
            int Q = queries.size(), N = store.size(), batchSize = 8;
            List<PreparedQuery> prepared = queries.stream().map(q -> InfluenceAnalysis.prepare(model, pre, q)).toList();
            @SuppressWarnings("unchecked") List<LayerBasis>[] bases = new List[K];
            float[][][][] compressed = new float[K][Q][layers.size()][]; // [k][q][layer] Uᵀ P V
            for (int k = 0; k < K; k++) {
                bases[k] = variant(specs[k], model, factors, ekfac);
                for (int q = 0; q < Q; q++)
                    for (TrackedLayer l : layers) {
                        LayerBasis b = bases[k].get(l.index());
                        compressed[k][q][l.index()] = new float[b.size()];
                        b.compress(prepared.get(q).preconditioned().get(l.index()), compressed[k][q][l.index()], 0);
                    }
            }
            int kt = Math.max(0, java.util.Arrays.asList(specs).indexOf("32"));
            String kTimed = specs[kt];
            System.out.printf("%d queries, %d sequences of %d tokens; variants %s%n", Q, N, store.seqLen(), java.util.Arrays.toString(specs));

            // the index tap's cost against a plain pass, alternated twice over the first sequences
            int M = Math.min(timed, N);
            double plain = 0, indexed = 0;
            for (int round = 0; round < 2; round++) {
                plain += pass(model, store, M, batchSize, (layer, b, abar, ds) -> {});
                float[] sink = new float[batchSize * bases[kt].stream().mapToInt(LayerBasis::size).max().orElseThrow()];
                indexed += pass(model, store, M, batchSize, (layer, b, abar, ds) -> {
                    LayerBasis basis = bases[kt].get(layer.index());
                    basis.compressBatch(abar, ds, b.batchSize(), b.seqLen(), sink, 0, basis.size());
                });
            }
            System.out.printf("cost over %d sequences (two rounds each): plain forward+backward %.1f s, with the %s index tap %.1f s: ratio %.3f%n",
                    M, plain, kTimed, indexed, indexed / plain);
            if (args.length > 8 && args[8].equals("timing-only")) return;

            double[][] exact = new double[Q][N];
            double[][][] approx = new double[K][Q][N];
            long t0 = System.nanoTime();
            for (int from = 0; from < N; from += batchSize) {
                int count = Math.min(batchSize, N - from), first = from;
                SequenceBatch batch = store.batch(from, count);
                int T = batch.seqLen();
                model.forward(batch);
                model.backward(Targets.nextTokens(batch), (layer, b, abar, ds) -> {
                    BatchingEval.addExactTerms(layer, abar, ds, count, T, prepared, exact, first);
                    for (int k = 0; k < K; k++) {
                        LayerBasis basis = bases[k].get(layer.index());
                        int size = basis.size();
                        float[] c = new float[count * size];
                        basis.compressBatch(abar, ds, count, T, c, 0, size);
                        for (int s = 0; s < count; s++)
                            for (int q = 0; q < Q; q++) approx[k][q][first + s] += Vec.dot(c, s * size, compressed[k][q][layer.index()], 0, size);
                    }
                });
                if ((from / batchSize) % 200 == 0)
                    System.err.printf("  %d / %d sequences, %.0f s%n", from + count, N, (System.nanoTime() - t0) / 1e9);
            }
            System.out.printf("pass over %d sequences: %.0f s%n", N, (System.nanoTime() - t0) / 1e9);

            System.out.printf("%n%-34s %10s %9s %9s %9s %9s%n", "candidates", "floats/seq", "KiB/seq", "Pearson", "recall@100", "@1000");
            for (int k = 0; k < K; k++) {
                int d = bases[k].stream().mapToInt(LayerBasis::size).sum();
                double r = 0, r100 = 0, r1000 = 0, lowest = 1;
                for (int q = 0; q < Q; q++) {
                    double p = Correlation.pearson(exact[q], approx[k][q]);
                    r += p;
                    lowest = Math.min(lowest, p);
                    Set<Integer> exactTop = BatchingEval.top(exact[q], 10, null);
                    r100 += recall(exactTop, BatchingEval.top(approx[k][q], Math.min(100, N), null));
                    r1000 += recall(exactTop, BatchingEval.top(approx[k][q], Math.min(1000, N), null));
                }
                System.out.printf("%-34s %10d %9.1f %9.4f %9.2f %9.2f   (lowest r %.4f)%n", "index, " + specs[k], d, d * 4 / 1024.0, r / Q, r100 / Q, r1000 / Q, lowest);
            }
            try (TfIdfIndex tfidf = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
                double r100 = 0, r1000 = 0;
                for (int q = 0; q < Q; q++) {
                    Set<Integer> exactTop = BatchingEval.top(exact[q], 10, null);
                    r100 += recall(exactTop, asSet(tfidf.topK(queries.get(q).tokens(), 100)));
                    r1000 += recall(exactTop, asSet(tfidf.topK(queries.get(q).tokens(), 1000)));
                }
                System.out.printf("%-34s %10s %9s %9s %9.2f %9.2f%n", "TF-IDF (BM25, Eq. 28-29)", "-", "-", "-", r100 / Q, r1000 / Q);
            }
        }
    }

    /** Seconds for a forward and backward pass with true labels over the first {@code m} sequences, with {@code tap}. */
    private static double pass(LanguageModel model, SequenceStore store, int m, int batchSize, GradientTap tap) {
        long t0 = System.nanoTime();
        for (int from = 0; from < m; from += batchSize) {
            SequenceBatch batch = store.batch(from, Math.min(batchSize, m - from));
            model.forward(batch);
            model.backward(Targets.nextTokens(batch), tap);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double recall(Set<Integer> exactTop, Set<Integer> candidates) {
        return exactTop.stream().filter(candidates::contains).count() / (double) exactTop.size();
    }

    private static Set<Integer> asSet(int[] v) {
        Set<Integer> out = new HashSet<>();
        for (int i : v) out.add(i);
        return out;
    }

    /** A variant's directions per tracked layer (see main), chosen from EK-FAC's Λ with the default damping. */
    private static List<LayerBasis> variant(String spec, LanguageModel model, CurvatureFactors factors, Strategy.Ekfac ekfac) {
        String[] wn = spec.split("x");
        int wide = Integer.parseInt(wn[0]), narrow = wn.length > 1 ? Integer.parseInt(wn[1]) : wide;
        List<LayerBasis> out = new java.util.ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) {
            var basis = factors.eigenbasis(l);
            double[] eigenvalues = ekfac.eigenvalues(factors, l, basis);
            boolean widerOut = l.outFeatures() >= l.activationDim();
            out.add(LayerBasis.select(l, basis, eigenvalues, Damping.paperDefault().lambda(eigenvalues), widerOut ? wide : narrow, widerOut ? narrow : wide));
        }
        return out;
    }
}
