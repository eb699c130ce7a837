package dev.imprint.influence;

import dev.imprint.curvature.Preconditioner;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.Transformer;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Exactness of scoring on a tiny random transformer (method §4), float32 against float64 sums. */
class InfluenceScorerTest {
    static final long SEED = 77L;
    static final ModelConfig TINY = ModelConfig.gpt2(2, 16, 2, 41, 24);

    static Parameters params(long seed) {
        Parameters p = Parameters.initialize(TINY, seed);
        Random r = new Random(seed);
        for (float[] t : p.tensors()) for (int i = 0; i < t.length; i++) t[i] += (float) (r.nextGaussian() * 0.15);
        return p;
    }

    static int[][] sequences(int n, long seed) {
        Random r = new Random(seed);
        int[][] s = new int[n][];
        for (int i = 0; i < n; i++) {
            s[i] = new int[6 + r.nextInt(12)];
            for (int t = 0; t < s[i].length; t++) s[i][t] = r.nextInt(TINY.vocabSize());
        }
        return s;
    }

    static Query query(int[] prompt, int[] completion) {
        return new Query("q", "", "", prompt, completion);
    }

    static Preconditioners identity(LanguageModel model) {
        List<Preconditioner> ps = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) ps.add(new Preconditioner.Identity(l.outFeatures(), l.activationDim()));
        return new Preconditioners(model.trackedLayers(), ps);
    }

    static Preconditioners randomDiagonal(LanguageModel model, long seed) {
        Random r = new Random(seed);
        List<Preconditioner> ps = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) {
            double[] rec = new double[l.outFeatures() * l.activationDim()];
            for (int i = 0; i < rec.length; i++) rec[i] = 0.1 + r.nextDouble();
            ps.add(new Preconditioner.Elementwise(l.outFeatures(), l.activationDim(), rec));
        }
        return new Preconditioners(model.trackedLayers(), ps);
    }

    @Test
    void identityStrategyIsThePlainGradientDotProduct() {
        Parameters p = params(SEED);
        LanguageModel model = new Transformer(p, LayerSelection.ALL_LINEAR);
        Query q = query(new int[] {3, 9, 4}, new int[] {17, 2, 30});
        PreparedQuery pq = QueryGradient.compute(model, q).precondition(identity(model), model.trackedLayers());
        InfluenceScorer scorer = new InfluenceScorer(model, List.of(pq));

        Parameters gq = new Parameters(p.layout());
        SequenceBatch qb = SequenceBatch.of(q.tokens());
        model.forward(qb);
        model.backward(Targets.completion(qb, new int[] {3}), null, gq);
        for (int[] z : sequences(5, SEED + 1)) {
            Parameters gz = new Parameters(p.layout());
            SequenceBatch zb = SequenceBatch.of(z);
            model.forward(zb);
            model.backward(Targets.nextTokens(zb), null, gz);
            double expected = 0;
            for (ParameterLayout.Entry e : p.layout().entries()) {
                // tracked (ALL_LINEAR): every block's linear weights and biases; not embeddings, norms or the head
                if (!e.role().perLayer() || e.role().name().startsWith("NORM")) continue;
                float[] gqe = gq.tensor(e), gze = gz.tensor(e);
                for (int i = 0; i < e.size(); i++) expected += (double) gqe[i] * gze[i];
            }
            double got = scorer.score(zb)[0][0];
            assertEquals(expected, got, 1e-4 * Math.abs(expected) + 1e-6, "seed " + SEED + ": ⟨q, r⟩ over tracked layers");
        }
    }

    @Test
    void tokenAndLayerTermsSumToTheScoreAndBatchingChangesNothing() {
        LanguageModel model = new Transformer(params(SEED + 2), LayerSelection.MLP);
        Preconditioners pre = randomDiagonal(model, SEED + 3);
        List<PreparedQuery> qs = List.of(
                QueryGradient.compute(model, query(new int[] {1, 2}, new int[] {3, 4, 5})).precondition(pre, model.trackedLayers()),
                QueryGradient.compute(model, query(new int[] {7}, new int[] {8})).precondition(pre, model.trackedLayers()));
        InfluenceScorer scorer = new InfluenceScorer(model, qs);
        int[][] seqs = sequences(4, SEED + 4);
        double[][] batched = scorer.score(SequenceBatch.pad(seqs, 0));
        for (int s = 0; s < seqs.length; s++) {
            double[][] single = scorer.score(SequenceBatch.of(seqs[s]));
            for (int q = 0; q < qs.size(); q++) {
                double ref = single[q][0];
                assertEquals(ref, batched[q][s], 1e-5 * Math.abs(ref) + 1e-7, "batch of 4 vs alone, sequence " + s + " query " + q);
                InfluenceScorer.Explanation e = scorer.explain(seqs[s], q);
                assertEquals(ref, e.total(), 1e-5 * Math.abs(ref) + 1e-7);
                assertEquals(e.total(), sum(e.perLayer()), 1e-9 * Math.abs(e.total()) + 1e-9, "Eq. 30 terms sum to the score");
                assertEquals(e.total(), sum(e.perToken()), 1e-9 * Math.abs(e.total()) + 1e-9, "Eq. 31 terms sum to the score");
                assertEquals(model.trackedLayers().size(), e.perLayer().length);
                assertEquals(seqs[s].length, e.perToken().length);
                assertEquals(0.0, e.perToken()[seqs[s].length - 1], 0.0, "the last position predicts nothing");
            }
        }
    }

    @Test
    void selfInfluenceIsTheDiagonalOfPairwiseScores() {
        LanguageModel model = new Transformer(params(SEED + 5), LayerSelection.ALL_LINEAR);
        Preconditioners pre = randomDiagonal(model, SEED + 6);
        int[][] seqs = sequences(3, SEED + 7);
        double[] self = SelfInfluence.compute(model, pre, SequenceBatch.pad(seqs, 0));
        for (int s = 0; s < seqs.length; s++) {
            int[] z = seqs[s];
            // the sequence as a query: prompt = its first token, completion = the rest (all next-token losses)
            Query asQuery = query(java.util.Arrays.copyOf(z, 1), java.util.Arrays.copyOfRange(z, 1, z.length));
            PreparedQuery pq = QueryGradient.compute(model, asQuery).precondition(pre, model.trackedLayers());
            double pairwise = new InfluenceScorer(model, List.of(pq)).score(SequenceBatch.of(z))[0][0];
            assertTrue(self[s] > 0, "positive definite preconditioner gives positive self-influence");
            assertEquals(pairwise, self[s], 1e-4 * Math.abs(pairwise), "sequence " + s);
        }
    }

    @Test
    void lowRankScoringAtFullRankIsExactAndTruncationStaysClose() {
        LanguageModel model = new Transformer(params(SEED + 8), LayerSelection.MLP);
        Preconditioners pre = randomDiagonal(model, SEED + 9);
        List<PreparedQuery> qs = new ArrayList<>();
        Random r = new Random(SEED + 10);
        for (int q = 0; q < 3; q++)
            qs.add(QueryGradient.compute(model, query(new int[] {r.nextInt(41), r.nextInt(41)}, new int[] {r.nextInt(41), r.nextInt(41)}))
                    .precondition(pre, model.trackedLayers()));
        InfluenceScorer exact = new InfluenceScorer(model, qs);
        int full = 64; // ≥ min(P, A) of every layer: the SVD is not truncated
        InfluenceScorer lossless = InfluenceScorer.lowRank(model, qs.stream().map(q -> LowRankQuery.compress(q, full)).toList());
        InfluenceScorer rank2 = InfluenceScorer.lowRank(model, qs.stream().map(q -> LowRankQuery.compress(q, 2)).toList());
        int[][] seqs = sequences(30, SEED + 11);
        SequenceBatch batch = SequenceBatch.pad(seqs, 0);
        double[][] e = exact.score(batch), l = lossless.score(batch), t = rank2.score(batch);
        for (int q = 0; q < qs.size(); q++) {
            double scale = java.util.Arrays.stream(e[q]).map(Math::abs).max().orElseThrow();
            for (int b = 0; b < seqs.length; b++) assertEquals(e[q][b], l[q][b], 1e-4 * scale, "query " + q + " sequence " + b);
            double rho = Correlation.pearson(e[q], t[q]);
            assertTrue(rho > 0.5 && rho < 1.0, "rank 2 of a random query is an approximation, not the same: r = " + rho);
        }
        // a subset of the queries, full rank and rank k: the same scores for them, zero for the others
        for (int[] which : new int[][] {{0, 2}, {1}, {1, 2}})
            for (InfluenceScorer scorer : new InfluenceScorer[] {exact, rank2}) {
                double[][] all = scorer.score(batch), some = scorer.score(batch, which);
                for (int q = 0; q < qs.size(); q++) {
                    final int query = q;
                    boolean asked = java.util.Arrays.stream(which).anyMatch(w -> w == query);
                    for (int b = 0; b < seqs.length; b++) assertEquals(asked ? all[q][b] : 0, some[q][b], 0, "query " + q + " sequence " + b);
                }
                InfluenceScorer.Explanation[] one = scorer.explain(seqs[3], which), every = scorer.explainAll(seqs[3]);
                for (int q = 0; q < qs.size(); q++) {
                    final int query = q;
                    if (java.util.Arrays.stream(which).noneMatch(w -> w == query)) assertNull(one[q]);
                    else assertArrayEquals(every[q].perToken(), one[q].perToken(), 0);
                }
            }
    }

    @Test
    void topKKeepsTheBestWithDeterministicTies() {
        TopK top = new TopK(3);
        double[] scores = {0.5, 2.0, -1.0, 2.0, 1.5, 0.1};
        for (int i = scores.length - 1; i >= 0; i--) top.offer(i, scores[i]);
        List<TopK.Entry> best = top.sorted();
        assertEquals(List.of(new TopK.Entry(1, 2.0), new TopK.Entry(3, 2.0), new TopK.Entry(4, 1.5)), best);
    }

    private static double sum(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s;
    }

    /** Preconditioning in place (what scoring does, to hold a query once) gives the fresh matrices' values. */
    @Test
    void preconditioningInPlaceEqualsPreconditioning() {
        Transformer model = new Transformer(params(SEED), LayerSelection.MLP);
        Preconditioners pre = randomDiagonal(model, SEED + 3);
        Query q = query(new int[] {1, 2, 3, 4}, new int[] {5, 6});
        PreparedQuery fresh = QueryGradient.compute(model, q).precondition(pre, model.trackedLayers());
        QueryGradient g = QueryGradient.compute(model, q);
        PreparedQuery inPlace = g.preconditionInPlace(pre, model.trackedLayers());
        for (TrackedLayer l : model.trackedLayers()) {
            assertArrayEquals(fresh.preconditioned().get(l.index()).data(), inPlace.preconditioned().get(l.index()).data(), 0f, l.name());
            assertSame(g.perLayer().get(l.index()), inPlace.preconditioned().get(l.index()), "the gradient's own matrix");
        }
    }
}
