package dev.imprint.influence;

import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.data.ByteTokenizer;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.Transformer;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The library entry point end to end on a tiny store: EK-FAC fitted through {@link InfluenceAnalysis#fit},
 * then rank-k scoring with full-rank rescoring, once holding every full-rank query and once with
 * room for one at a time (each group prepared again), which must give the same results; and with
 * every sequence rescored, the same top-k as exact full-rank scoring; and EK-FAC self-influence
 * equal to the pairwise score of a sequence with itself.
 */
class InfluenceAnalysisTest {
    static final String[] WORDS = {"the", "whale", "ship", "sea", "captain", "white", "storm", "harbor", "rope", "deck", "night", "calm"};

    static long tokens(SequenceStore store, int count) {
        return store.tokens(store.sample(count, 5));
    }

    @Test
    void rescoringOneQueryAtATimeMatchesHoldingThemAll(@TempDir Path tmp) throws IOException {
        Random r = new Random(3);
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int d = 0; d < 12; d++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 8 + r.nextInt(20); w++) text.append(WORDS[r.nextInt(WORDS.length)]).append(w % 7 == 6 ? ". " : " ");
            Files.writeString(corpus.resolve("doc" + d + ".txt"), text.toString());
        }
        Tokenizer tok = new ByteTokenizer();
        Parameters params = Parameters.initialize(ModelConfig.gpt2(2, 16, 2, tok.vocabSize(), 32), 4);
        for (float[] t : params.tensors()) for (int i = 0; i < t.length; i++) t[i] += (float) (r.nextGaussian() * 0.05);
        LanguageModel model = new Transformer(params, LayerSelection.MLP);
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), tok, "bytes", 32, Progress.NONE)) {
            Preconditioners pre = InfluenceAnalysis.fit(model, store, "tiny", tmp.resolve("factors"),
                    new InfluenceAnalysis.FitSettings(dev.imprint.curvature.Strategy.parse("ekfac"), store.size(), 4, 5, FittingPass.Labels.SAMPLED),
                    Damping.paperDefault(), FitProgress.NONE);
            List<Query> queries = new ArrayList<>();
            for (String[] pc : new String[][] {{"the white", " whale"}, {"the storm at", " night"}, {"captain on", " deck"}, {"calm", " sea"}})
                queries.add(new Query(pc[0] + pc[1], pc[0], pc[1], tok.encode(pc[0]), tok.encode(pc[1])));
            // a token budget picks the sample size: the sample of k reaches it, that of k − 1 does not
            for (long budget : new long[] {1, 100, 333}) {
                int k = InfluenceAnalysis.sequencesForTokens(store, budget, 5);
                assertTrue(tokens(store, k) >= budget, "budget " + budget + ": " + k + " sequences");
                assertTrue(k == 1 || tokens(store, k - 1) < budget, "budget " + budget + ": " + (k - 1) + " sequences already reach it");
            }
            assertEquals(store.size(), InfluenceAnalysis.sequencesForTokens(store, Long.MAX_VALUE, 5), "a budget above the store takes it all");

            // EK-FAC self-influence is the pairwise score of a sequence with itself as the query
            double[] self = InfluenceAnalysis.selfInfluence(model, store, pre, 4, Progress.NONE);
            assertEquals(store.size(), self.length);
            for (int z : new int[] {0, store.size() / 2, store.size() - 1}) {
                int[] seq = store.sequence(z);
                Query asQuery = new Query("self" + z, "", "", java.util.Arrays.copyOf(seq, 1), java.util.Arrays.copyOfRange(seq, 1, seq.length));
                PreparedQuery pq = QueryGradient.compute(model, asQuery).precondition(pre, model.trackedLayers());
                double pairwise = new InfluenceScorer(model, List.of(pq)).score(dev.imprint.model.SequenceBatch.of(seq))[0][0];
                assertTrue(self[z] > 0, "sequence " + z);
                assertEquals(pairwise, self[z], 1e-4 * Math.abs(pairwise), "sequence " + z);
            }

            var settings = new InfluenceAnalysis.ScoreSettings(3, 4, true, 2, 6);
            List<InfluenceAnalysis.QueryResult> together = InfluenceAnalysis.score(model, store, pre, queries, null, settings, Progress.NONE, Long.MAX_VALUE);
            List<InfluenceAnalysis.QueryResult> oneByOne = InfluenceAnalysis.score(model, store, pre, queries, null, settings, Progress.NONE, 1);
            assertEquals(queries.size(), oneByOne.size());
            for (int q = 0; q < queries.size(); q++) {
                InfluenceAnalysis.QueryResult a = together.get(q), b = oneByOne.get(q);
                assertEquals(a.query(), b.query());
                assertEquals(a.logProb(), b.logProb(), 0.0);
                assertArrayEquals(a.scores(), b.scores(), "first-stage scores are computed once either way");
                assertEquals(3, a.top().size());
                for (int k = 0; k < a.top().size(); k++) {
                    InfluenceAnalysis.Hit x = a.top().get(k), y = b.top().get(k);
                    assertEquals(x.sequence(), y.sequence(), "query " + q + " rank " + k);
                    assertEquals(x.score(), y.score(), 1e-5 * Math.abs(x.score()) + 1e-9, "query " + q + " rank " + k);
                    assertArrayEquals(x.layers(), y.layers(), 1e-5 * Math.abs(x.score()) + 1e-9);
                    assertArrayEquals(x.tokens(), y.tokens(), 1e-5 * Math.abs(x.score()) + 1e-9);
                    if (k > 0) assertTrue(a.top().get(k - 1).score() >= x.score(), "best first");
                }
            }
            // rescoring every sequence at full rank is exact scoring: the same top-k as rank 0
            List<InfluenceAnalysis.QueryResult> exact = InfluenceAnalysis.score(model, store, pre, queries, null,
                    new InfluenceAnalysis.ScoreSettings(3, 4, false, 0, 0), Progress.NONE);
            List<InfluenceAnalysis.QueryResult> rescoredAll = InfluenceAnalysis.score(model, store, pre, queries, null,
                    new InfluenceAnalysis.ScoreSettings(3, 4, false, 2, store.size()), Progress.NONE, 1);
            for (int q = 0; q < queries.size(); q++)
                for (int k = 0; k < 3; k++) {
                    InfluenceAnalysis.Hit x = exact.get(q).top().get(k), y = rescoredAll.get(q).top().get(k);
                    assertEquals(x.sequence(), y.sequence(), "query " + q + " rank " + k);
                    assertEquals(x.score(), y.score(), 1e-5 * Math.abs(x.score()) + 1e-9);
                    assertEquals(exact.get(q).logProb(), rescoredAll.get(q).logProb(), 0.0);
                }
        }
    }
}
