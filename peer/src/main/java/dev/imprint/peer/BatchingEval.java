package dev.imprint.peer;

import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.data.TfIdfIndex;
import dev.imprint.influence.Correlation;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.InfluenceScorer;
import dev.imprint.influence.LowRankQuery;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.influence.QueryGradient;
import dev.imprint.influence.TopK;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelDirectory;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Vec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Query batching and TF-IDF filtering against exact scores over a whole store (method §5):
 * one pass computes, for every training sequence, the rank-k scores (token level, the batched
 * kernel) and the exact full-rank scores Σ_ℓ ⟨P_ℓ, DW̄_ℓ(z)⟩ from each sequence's gradient. Prints
 * per query the Pearson r of rank-k vs exact, the overlap of the exact top-10 with the two-stage
 * top-10 (rank-k top candidates rescored exactly), and the recall of the exact top-10 within the
 * TF-IDF top K for K in {100, 1000, 10000}.
 *
 * <p>Usage: {@code BatchingEval MODEL_DIR CORPUS CACHE FACTORS_DIR QUERIES_JSONL [random-queries] [rank] [rescore]}
 */
public final class BatchingEval {
    private BatchingEval() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]), corpus = Path.of(args[1]), cache = Path.of(args[2]), factors = Path.of(args[3]), queryFile = Path.of(args[4]);
        int randomQueries = args.length > 5 ? Integer.parseInt(args[5]) : 16, rank = args.length > 6 ? Integer.parseInt(args[6]) : 32;
        int rescore = args.length > 7 ? Integer.parseInt(args[7]) : 100;
        try (ModelDirectory dir = ModelDirectory.load(modelDir);
             SequenceStore store = StoreCache.forCorpus(corpus, cache, dir.tokenizer(), StoreCache.fileId(modelDir.resolve("tokenizer.json")),
                     dir.config().contextLength(), Progress.NONE)) {
            LanguageModel model = dir.model(LayerSelection.MLP);
            List<TrackedLayer> layers = model.trackedLayers();
            Preconditioners pre = InfluenceAnalysis.openFitted(model, store, dir.fingerprint(), factors, Strategy.defaultStrategy(), Damping.paperDefault());
            List<Query> queries = queries(queryFile, dir, store, randomQueries);
            int Q = queries.size(), N = store.size();
            List<PreparedQuery> prepared = queries.stream().map(q -> QueryGradient.compute(model, q).precondition(pre, layers)).toList();
            List<LowRankQuery> compressed = prepared.stream().map(p -> LowRankQuery.compress(p, rank)).toList();
            InfluenceScorer lowRank = InfluenceScorer.lowRank(model, compressed);
            System.out.printf("%d queries, %d sequences, rank %d; %d rank-%d queries hold %.1f MiB, full rank %.1f MiB%n", Q, N, rank, Q, rank,
                    compressed.stream().mapToLong(LowRankQuery::bytes).sum() / 1048576.0,
                    prepared.stream().mapToLong(p -> p.preconditioned().stream().mapToLong(m -> 4L * m.rows() * m.cols()).sum()).sum() / 1048576.0);

            double[][] exact = new double[Q][N], approx = new double[Q][N];
            long t0 = System.nanoTime();
            int batchSize = 8;
            for (int from = 0; from < N; from += batchSize) {
                int count = Math.min(batchSize, N - from), first = from;
                SequenceBatch batch = store.batch(from, count);
                int T = batch.seqLen();
                float[][][] terms = lowRank.newTerms(batch);
                var lowRankTap = lowRank.termsTap(terms);
                model.forward(batch);
                model.backward(Targets.nextTokens(batch), (layer, b, abar, ds) -> {
                    lowRankTap.onLayer(layer, b, abar, ds);
                    addExactTerms(layer, abar, ds, count, T, prepared, exact, first);
                });
                for (int q = 0; q < Q; q++)
                    for (float[] layer : terms[q])
                        for (int s = 0; s < count; s++)
                            for (int t = 0; t < batch.lengths()[s]; t++) approx[q][first + s] += layer[s * T + t];
                if ((from / batchSize) % 200 == 0)
                    System.err.printf("  %d / %d sequences, %.0f s%n", from + count, N, (System.nanoTime() - t0) / 1e9);
            }
            System.out.printf("pass over %d sequences: %.0f s%n", N, (System.nanoTime() - t0) / 1e9);

            try (TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
                System.out.printf("%-28s %8s %8s %9s %9s %9s%n", "query", "Pearson", "top-10", "recall@100", "@1000", "@10000");
                double pSum = 0, overlapSum = 0;
                double[] recallSum = new double[3];
                int[] ks = {100, 1000, 10000};
                for (int q = 0; q < Q; q++) {
                    double r = Correlation.pearson(exact[q], approx[q]);
                    Set<Integer> exactTop = top(exact[q], 10, null);
                    Set<Integer> candidates = top(approx[q], rescore, null);
                    Set<Integer> twoStage = top(exact[q], 10, candidates);
                    int overlap = (int) exactTop.stream().filter(twoStage::contains).count();
                    double[] recall = new double[3];
                    for (int i = 0; i < ks.length; i++) {
                        Set<Integer> tfidf = new HashSet<>();
                        for (int s : index.topK(queries.get(q).tokens(), ks[i])) tfidf.add(s);
                        recall[i] = exactTop.stream().filter(tfidf::contains).count() / 10.0;
                        recallSum[i] += recall[i];
                    }
                    pSum += r;
                    overlapSum += overlap;
                    System.out.printf("%-28s %8.4f %5d/10 %9.1f %9.1f %9.1f%n", queries.get(q).id(), r, overlap, recall[0], recall[1], recall[2]);
                }
                System.out.printf("%-28s %8.4f %8.2f %9.2f %9.2f %9.2f%n", "mean", pSum / Q, overlapSum / Q, recallSum[0] / Q, recallSum[1] / Q, recallSum[2] / Q);
            }
        }
    }

    /**
     * Adds one layer's exact term ⟨P_ℓ, DW̄_ℓ(z)⟩ of every query to {@code exact[q][first + s]} for
     * each sequence s of the batch, DW̄ formed from the tap's rows of that sequence.
     */
    static void addExactTerms(TrackedLayer layer, Mat abar, Mat ds, int count, int T, List<PreparedQuery> prepared, double[][] exact, int first) {
        Mat g = Mat.zeros(layer.outFeatures(), layer.activationDim());
        for (int s = 0; s < count; s++) {
            Gemm.mulTransA(g, ds.rows(s * T, T), abar.rows(s * T, T), false); // DW̄ of sequence s
            for (int q = 0; q < prepared.size(); q++) {
                Mat p = prepared.get(q).preconditioned().get(layer.index());
                exact[q][first + s] += Vec.dot(g.data(), 0, p.data(), p.offset(), g.rows() * g.cols());
            }
        }
    }

    /** Indices of the k largest values (restricted to {@code among} when given). */
    static Set<Integer> top(double[] v, int k, Set<Integer> among) {
        TopK t = new TopK(k);
        for (int i = 0; i < v.length; i++) if (among == null || among.contains(i)) t.offer(i, v[i]);
        Set<Integer> out = new HashSet<>();
        for (TopK.Entry e : t.sorted()) out.add(e.sequence());
        return out;
    }

    /** The file's queries plus {@code random} corpus windows (16 prompt tokens, 4 completion tokens, seeded). */
    static List<Query> queries(Path file, ModelDirectory dir, SequenceStore store, int random) throws Exception {
        List<Query> out = new ArrayList<>();
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            var n = json.readTree(line);
            out.add(Query.of(n.get("id").asText(), n.get("prompt").asText(), n.get("completion").asText(), dir.tokenizer(), dir.config().contextLength()));
        }
        Random rnd = new Random(5);
        for (int i = 0; i < random; i++) {
            int[] seq = store.sequence(rnd.nextInt(store.size()));
            int p = rnd.nextInt(Math.max(1, seq.length - 20));
            int[] prompt = Arrays.copyOfRange(seq, p, p + 16), completion = Arrays.copyOfRange(seq, p + 16, p + 20);
            out.add(new Query("corpus-window-" + (i + 1), dir.tokenizer().decode(prompt), dir.tokenizer().decode(completion), prompt, completion));
        }
        return out;
    }
}
