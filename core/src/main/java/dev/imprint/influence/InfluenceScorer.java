package dev.imprint.influence;

import dev.imprint.model.LanguageModel;
import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;
import dev.imprint.tensor.Vec;

import java.util.List;
import java.util.function.IntFunction;

/**
 * Pairwise influence of training sequences on prepared queries (method §4): for training sequence z
 * (true labels, summed loss), I(z) = Σ_ℓ ⟨P_ℓ, DW̄_ℓ(z)⟩ = Σ_ℓ Σ_t Ds_tᵀ P_ℓ ā_t, without forming
 * DW̄. All queries are scored in the same training pass, with full-rank P_ℓ (exact) or with their
 * rank-k factorizations (query batching, method §5).
 */
public final class InfluenceScorer {
    /** X is bounded to this many floats; more queries are processed in chunks of the same pass. */
    private static final long X_BUDGET = 1L << 25;
    private final LanguageModel model;
    private final List<Query> queries;
    private final List<TrackedLayer> layers;
    private final LayerKernel kernel;

    /** Computes terms[q][ℓ][row] for the queries {@code which} (ascending) at one layer from that layer's ā and Ds. */
    @FunctionalInterface
    private interface LayerKernel {
        void terms(TrackedLayer layer, Mat abar, Mat ds, float[][][] terms, int[] which);
    }

    /** Applies {@code run} to each maximal run of consecutive query indices in {@code which} (ascending): its first index and length. */
    private static void runs(int[] which, java.util.function.IntBinaryOperator run) {
        for (int start = 0; start < which.length; ) {
            int end = start;
            while (end + 1 < which.length && which[end + 1] == which[end] + 1) end++;
            run.applyAsInt(which[start], end - start + 1);
            start = end + 1;
        }
    }

    /** Exact scoring with the full-rank preconditioned queries. */
    public InfluenceScorer(LanguageModel model, List<PreparedQuery> queries) {
        this(model, queries.stream().map(PreparedQuery::query).toList(), fullRank(model.trackedLayers(), queries.size(), queries::get));
    }

    /**
     * Exact scoring of {@code queries}, with query i prepared by {@code prepare.apply(i)} when its
     * turn comes and copied into the scorer: at most one prepared query exists beside the scorer's
     * own copy, which halves peak memory against preparing them all first.
     */
    public static InfluenceScorer fullRank(LanguageModel model, List<Query> queries, IntFunction<PreparedQuery> prepare) {
        return new InfluenceScorer(model, queries, fullRank(model.trackedLayers(), queries.size(), i -> {
            PreparedQuery p = prepare.apply(i);
            Query expected = queries.get(i);
            if (!p.query().id().equals(expected.id()) || !java.util.Arrays.equals(p.query().tokens(), expected.tokens()))
                throw new IllegalArgumentException("query " + i + " (" + expected.id() + ") was prepared as " + p.query().id());
            return p;
        }));
    }

    /** Batched scoring with rank-k queries (method §5): Σ_t (Uᵀ Ds_t)ᵀ diag(σ) (Vᵀ ā_t). */
    public static InfluenceScorer lowRank(LanguageModel model, List<LowRankQuery> queries) {
        return new InfluenceScorer(model, queries.stream().map(LowRankQuery::query).toList(), lowRank(model.trackedLayers(), queries));
    }

    private InfluenceScorer(LanguageModel model, List<Query> queries, LayerKernel kernel) {
        if (queries.isEmpty()) throw new IllegalArgumentException("no queries to score");
        this.model = model;
        this.queries = List.copyOf(queries);
        this.layers = model.trackedLayers();
        this.kernel = kernel;
    }

    /**
     * Per layer, [P¹ | … | P^Q] stacked (P, Q·A); then X = Ds · stack (BT, Q·A) and each token's
     * term is the dot of its row block of X with ā_t.
     */
    private static LayerKernel fullRank(List<TrackedLayer> layers, int Q, IntFunction<PreparedQuery> queries) {
        float[][] stacked = new float[layers.size()][];
        for (TrackedLayer l : layers) stacked[l.index()] = new float[Math.multiplyExact(l.outFeatures(), Math.multiplyExact(Q, l.activationDim()))];
        for (int q = 0; q < Q; q++) {
            PreparedQuery prepared = queries.apply(q);
            for (TrackedLayer l : layers) {
                int P = l.outFeatures(), A = l.activationDim();
                Mat pq = prepared.preconditioned().get(l.index());
                if (pq.rows() != P || pq.cols() != A)
                    throw new IllegalArgumentException(l.name() + ": prepared query is " + pq.rows() + "x" + pq.cols() + ", layer is " + P + "x" + A);
                for (int i = 0; i < P; i++) System.arraycopy(pq.data(), pq.offset() + i * pq.stride(), stacked[l.index()], i * Q * A + q * A, A);
            }
        }
        return (layer, abar, ds, terms, which) -> {
            int P = layer.outFeatures(), A = layer.activationDim(), l = layer.index(), BT = abar.rows();
            int chunk = (int) Math.max(1, Math.min(Q, X_BUDGET / ((long) BT * A)));
            float[] x = new float[BT * Math.min(chunk, which.length) * A];
            runs(which, (from, count) -> {
                for (int q0 = from; q0 < from + count; q0 += chunk) {
                    int qn = Math.min(chunk, from + count - q0), first = q0;
                    Gemm.mul(Mat.of(x, BT, qn * A), ds, new Mat(stacked[l], q0 * A, P, qn * A, Q * A), false);
                    Parallel.forEach(BT, r -> {
                        for (int q = 0; q < qn; q++)
                            terms[first + q][l][r] = Vec.dot(x, r * qn * A + q * A, abar.data(), abar.offset() + r * abar.stride(), A);
                    });
                }
                return 0;
            });
        };
    }

    /**
     * Per layer, U = [U¹Σ¹ | … | U^QΣ^Q] (P, K), the singular values folded in, and
     * V = [V¹ | … | V^Q] (A, K), K = Σ_q k_q; then X = Ds · U and Y = ā · V (both BT × K) and
     * token t's term for query q is the dot of X_t and Y_t over q's columns.
     */
    private static LayerKernel lowRank(List<TrackedLayer> layers, List<LowRankQuery> queries) {
        int Q = queries.size();
        Mat[] us = new Mat[layers.size()], vs = new Mat[layers.size()];
        int[][] starts = new int[layers.size()][Q + 1];
        for (TrackedLayer l : layers) {
            int li = l.index(), K = 0;
            for (int q = 0; q < Q; q++) {
                starts[li][q] = K;
                K += queries.get(q).factors().get(li).rank();
            }
            starts[li][Q] = K;
            Mat U = Mat.zeros(l.outFeatures(), K), V = Mat.zeros(l.activationDim(), K);
            for (int q = 0; q < Q; q++) {
                LowRankQuery.Factors f = queries.get(q).factors().get(li);
                if (f.u().rows() != l.outFeatures() || f.v().rows() != l.activationDim())
                    throw new IllegalArgumentException(l.name() + ": rank-" + f.rank() + " query factors do not match the layer");
                int c0 = starts[li][q];
                for (int c = 0; c < f.rank(); c++) {
                    for (int i = 0; i < U.rows(); i++) U.set(i, c0 + c, f.u().get(i, c) * f.sigma()[c]);
                    for (int j = 0; j < V.rows(); j++) V.set(j, c0 + c, f.v().get(j, c));
                }
            }
            us[li] = U;
            vs[li] = V;
        }
        return (layer, abar, ds, terms, which) -> {
            int l = layer.index(), BT = abar.rows();
            runs(which, (from, count) -> {
                int c0 = starts[l][from], K = starts[l][from + count] - c0;
                Mat X = Mat.zeros(BT, K), Y = Mat.zeros(BT, K);
                Gemm.mul(X, ds, us[l].cols(c0, K), false);
                Gemm.mul(Y, abar, vs[l].cols(c0, K), false);
                Parallel.forEach(BT, r -> {
                    for (int q = from; q < from + count; q++) {
                        int j0 = starts[l][q] - c0;
                        terms[q][l][r] = Vec.dot(X.data(), r * K + j0, Y.data(), r * K + j0, starts[l][q + 1] - starts[l][q]);
                    }
                });
                return 0;
            });
        };
    }

    public List<Query> queries() {
        return queries;
    }

    public List<TrackedLayer> layers() {
        return layers;
    }

    /**
     * Per-token, per-layer influence terms of a batch: terms[q][ℓ][b·T + t] = Ds_tᵀ P^q_ℓ ā_t
     * (Eq. 31 summed over ℓ gives the token view, Eq. 30 summed over t the layer view).
     */
    public float[][][] terms(SequenceBatch batch) {
        return terms(batch, all());
    }

    /** The same for the queries {@code which} (ascending indices) only; the other queries' terms stay zero. */
    public float[][][] terms(SequenceBatch batch, int[] which) {
        float[][][] terms = newTerms(batch);
        model.forward(batch);
        model.backward(Targets.nextTokens(batch), termsTap(terms, which));
        return terms;
    }

    private int[] all() {
        return java.util.stream.IntStream.range(0, queries.size()).toArray();
    }

    /** A zeroed terms[q][ℓ][row] array for a batch. */
    public float[][][] newTerms(SequenceBatch batch) {
        return new float[queries.size()][layers.size()][batch.batchSize() * batch.seqLen()];
    }

    /**
     * The tap that fills terms[q][ℓ][row] during a backward pass with true labels, for callers
     * that run the pass themselves (e.g. to serve several listeners with one pass).
     */
    public GradientTap termsTap(float[][][] terms) {
        return termsTap(terms, all());
    }

    private GradientTap termsTap(float[][][] terms, int[] which) {
        for (int i = 0; i < which.length; i++)
            if (which[i] < 0 || which[i] >= queries.size() || (i > 0 && which[i] <= which[i - 1]))
                throw new IllegalArgumentException("query indices must ascend within 0.." + (queries.size() - 1) + ": " + java.util.Arrays.toString(which));
        return (layer, b, abar, ds) -> kernel.terms(layer, abar, ds, terms, which);
    }

    /** scores[q][b] = I(z_b) for every query and every sequence of the batch (summed in double). */
    public double[][] score(SequenceBatch batch) {
        return score(batch, all());
    }

    /**
     * The same for the queries {@code which} (ascending indices) only, at the cost of those queries:
     * the other rows of the result are zero.
     */
    public double[][] score(SequenceBatch batch, int[] which) {
        float[][][] terms = terms(batch, which);
        int T = batch.seqLen();
        double[][] scores = new double[queries.size()][batch.batchSize()];
        for (int q = 0; q < scores.length; q++)
            for (float[] layer : terms[q])
                for (int b = 0; b < batch.batchSize(); b++)
                    for (int t = 0; t < batch.lengths()[b]; t++) scores[q][b] += layer[b * T + t];
        return scores;
    }

    /** The per-layer and per-token view of one training sequence's influence on query q. */
    public Explanation explain(int[] tokens, int q) {
        return explain(tokens, new int[] {q})[q];
    }

    /** The same for every query, from one forward and backward pass over the sequence. */
    public Explanation[] explainAll(int[] tokens) {
        return explain(tokens, all());
    }

    /** The same for the queries {@code which} (ascending indices) only; the other entries are null. */
    public Explanation[] explain(int[] tokens, int[] which) {
        float[][][] all = terms(SequenceBatch.of(tokens), which);
        Explanation[] out = new Explanation[all.length];
        for (int q : which) {
            float[][] terms = all[q];
            double[] perLayer = new double[terms.length];
            double[] perToken = new double[tokens.length];
            double total = 0;
            for (int l = 0; l < terms.length; l++)
                for (int t = 0; t < tokens.length; t++) {
                    perLayer[l] += terms[l][t];
                    perToken[t] += terms[l][t];
                    total += terms[l][t];
                }
            out[q] = new Explanation(total, perLayer, perToken);
        }
        return out;
    }

    /**
     * One sequence's influence decomposed (method §4). {@code perToken[t]} is the term of position t,
     * which comes from predicting token t+1 (the viewer highlights position t).
     *
     * @param total    I(z)
     * @param perLayer Eq. 30: one term per tracked layer, in tracked-layer order; sums to total
     * @param perToken Eq. 31: one term per position, summed over layers; sums to total
     */
    public record Explanation(double total, double[] perLayer, double[] perToken) {}
}
