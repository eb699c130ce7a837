package dev.imprint.index;

import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.KroneckerEigenbasis;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ByteTokenizer;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.influence.FittingPass;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.InfluenceScorer;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.influence.TopK;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.Tokenizer;
import dev.imprint.model.TrackedLayer;
import dev.imprint.model.Transformer;
import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The gradient index (method §5.3) on a tiny fitted model: with every eigen-direction kept its
 * scores are the exact EK-FAC scores; with a few kept, they are the float64 formula
 * Σ_{i∈I, j∈J} (Q_Sᵀ P Q_A)_ij (Q_Sᵀ DW̄ Q_A)_ij over the chosen directions, which carry the most
 * mass Λ/(Λ+λ); the batch size does not change the index; a build cut short resumes from its
 * finished shards to the same files, and leaves no index until it finishes.
 */
class GradientIndexTest {
    static final String[] WORDS = {"the", "whale", "ship", "sea", "captain", "white", "storm", "harbor", "rope", "deck", "night", "calm"};
    @TempDir
    static Path tmp;
    static LanguageModel model;
    static SequenceStore store;
    static CurvatureFactors factors;
    static Preconditioners pre;
    static List<PreparedQuery> prepared;
    static final Strategy.Ekfac EKFAC = new Strategy.Ekfac();

    @BeforeAll
    static void fit() throws IOException {
        Random r = new Random(11);
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int d = 0; d < 14; d++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 8 + r.nextInt(30); w++) text.append(WORDS[r.nextInt(WORDS.length)]).append(w % 7 == 6 ? ". " : " ");
            Files.writeString(corpus.resolve("doc" + d + ".txt"), text.toString());
        }
        Tokenizer tok = new ByteTokenizer();
        Parameters params = Parameters.initialize(ModelConfig.gpt2(2, 16, 2, tok.vocabSize(), 32), 4);
        for (float[] t : params.tensors()) for (int i = 0; i < t.length; i++) t[i] += (float) (r.nextGaussian() * 0.05);
        model = new Transformer(params, LayerSelection.MLP);
        store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), tok, "bytes", 32, Progress.NONE);
        pre = InfluenceAnalysis.fit(model, store, "tiny", tmp.resolve("factors"),
                new InfluenceAnalysis.FitSettings(EKFAC, store.size(), 4, 5, FittingPass.Labels.SAMPLED), Damping.paperDefault(), FitProgress.NONE);
        factors = InfluenceAnalysis.openFactors(model, store, "tiny", tmp.resolve("factors"), EKFAC);
        prepared = new ArrayList<>();
        for (String[] pc : new String[][] {{"the white", " whale"}, {"the storm at", " night"}, {"calm", " sea"}})
            prepared.add(InfluenceAnalysis.prepare(model, pre, new Query(pc[0] + pc[1], pc[0], pc[1], tok.encode(pc[0]), tok.encode(pc[1]))));
    }

    @AfterAll
    static void close() {
        store.close();
    }

    static GradientIndex build(int wide, int narrow, int batch, int shard, String name, Progress progress) {
        List<LayerBasis> bases = GradientIndex.chooseDirections(model, factors, EKFAC, Damping.paperDefault(), new GradientIndex.Settings(wide, narrow, batch));
        GradientIndex.Info info = GradientIndex.info("tiny", store.fingerprint(), factors.arguments().fingerprint(), "ekfac", "paper", store.size(), bases);
        if (shard > 0) info = new GradientIndex.Info(info.model(), info.store(), info.factors(), info.strategy(), info.damping(), info.sequences(), shard, info.layers());
        return GradientIndex.build(model, store, bases, info, batch, tmp.resolve(name), progress);
    }

    static float[][] indexScores(GradientIndex index) {
        return GradientIndex.open(index.directory(), model.trackedLayers()).scores(prepared.stream().map(index::compress).toList());
    }

    @Test
    void everyDirectionKeptGivesTheExactScores() {
        GradientIndex index = build(1 << 20, 1 << 20, 3, 0, "full", Progress.NONE);
        for (LayerBasis b : index.bases()) {
            assertEquals(b.layer().outFeatures(), b.u().cols());
            assertEquals(b.layer().activationDim(), b.v().cols());
        }
        float[][] got = indexScores(index);
        InfluenceScorer exact = new InfluenceScorer(model, prepared);
        for (int z = 0; z < store.size(); z++) {
            double[][] want = exact.score(store.batch(z, 1));
            for (int q = 0; q < prepared.size(); q++) {
                double scale = Math.abs(want[q][0]) + 1e-3 * maxAbs(got[q]);
                assertEquals(want[q][0], got[q][z], 1e-4 * scale, "query " + q + ", sequence " + z);
            }
        }
    }

    @Test
    void fewDirectionsGiveTheScoreRestrictedToThem() {
        int wide = 3, narrow = 5;
        GradientIndex index = build(wide, narrow, 4, 0, "few", Progress.NONE);
        float[][] got = indexScores(index);
        List<TrackedLayer> layers = model.trackedLayers();
        // per layer: which eigenvectors were kept, and that they carry the most mass Λ/(Λ+λ)
        int[][] rows = new int[layers.size()][], cols = new int[layers.size()][];
        for (TrackedLayer l : layers) {
            KroneckerEigenbasis basis = factors.eigenbasis(l);
            double[] lambda = factors.lambda(l).mean();
            double damp = Damping.paperDefault().lambda(lambda);
            int p = l.outFeatures(), a = l.activationDim();
            double[] rowMass = new double[p], colMass = new double[a];
            for (int i = 0; i < p; i++)
                for (int j = 0; j < a; j++) {
                    rowMass[i] += lambda[i * a + j] / (lambda[i * a + j] + damp);
                    colMass[j] += lambda[i * a + j] / (lambda[i * a + j] + damp);
                }
            LayerBasis b = index.bases().get(l.index());
            rows[l.index()] = kept(b.u(), basis.gradient().dense(), p);
            cols[l.index()] = kept(b.v(), basis.activation().dense(), a);
            boolean widerOut = l.outFeatures() >= l.activationDim();
            assertEquals(widerOut ? wide : narrow, rows[l.index()].length);
            assertEquals(widerOut ? narrow : wide, cols[l.index()].length);
            assertHeaviest(rowMass, rows[l.index()], l.name() + " rows");
            assertHeaviest(colMass, cols[l.index()], l.name() + " columns");
        }
        for (int z = 0; z < store.size(); z++) {
            double[][] g = gradients(store.batch(z, 1));
            for (int q = 0; q < prepared.size(); q++) {
                double want = 0;
                for (TrackedLayer l : layers) {
                    int p = l.outFeatures(), a = l.activationDim();
                    KroneckerEigenbasis basis = factors.eigenbasis(l);
                    double[] qs = basis.gradient().dense(), qa = basis.activation().dense();
                    double[] pq = toDouble(prepared.get(q).preconditioned().get(l.index()));
                    double[] pr = mul(mul(qs, true, pq, false, p, p, a), false, qa, false, p, a, a);
                    double[] gr = mul(mul(qs, true, g[l.index()], false, p, p, a), false, qa, false, p, a, a);
                    for (int i : rows[l.index()]) for (int j : cols[l.index()]) want += pr[i * a + j] * gr[i * a + j];
                }
                assertEquals(want, got[q][z], 1e-4 * (Math.abs(want) + 1e-3 * maxAbs(got[q])), "query " + q + ", sequence " + z);
            }
        }
    }

    @Test
    void batchSizeDoesNotChangeTheIndex() {
        float[][] one = indexScores(build(4, 4, 1, 0, "batch1", Progress.NONE)), five = indexScores(build(4, 4, 5, 0, "batch5", Progress.NONE));
        for (int q = 0; q < one.length; q++)
            for (int z = 0; z < one[q].length; z++) assertEquals(one[q][z], five[q][z], 1e-5 * maxAbs(one[q]), "query " + q + ", sequence " + z);
    }

    @Test
    void aBuildCutShortResumesToTheSameFiles() throws IOException {
        GradientIndex whole = build(4, 6, 2, 4, "uncut", Progress.NONE);
        assertTrue(whole.info().shards() >= 3, whole.info().shards() + " shards");
        Progress dies = new Progress() {
            long done;

            public void start(String task, long total, Unit unit) {}

            public void step(long n) {
                if ((done += n) >= 9) throw new IllegalStateException("killed");
            }

            public void done() {}
        };
        assertThrows(IllegalStateException.class, () -> build(4, 6, 2, 4, "cut", dies));
        assertFalse(Files.exists(tmp.resolve("cut")), "no index before the build finishes");
        assertTrue(Files.exists(tmp.resolve(".cut.partial").resolve(GradientIndex.shardName(0))), "finished shards are kept");
        long[] steps = {0};
        Progress counting = new Progress() {
            public void start(String task, long total, Unit unit) {}

            public void step(long n) {
                steps[0] += n;
            }

            public void done() {}
        };
        GradientIndex resumed = build(4, 6, 2, 4, "cut", counting);
        assertEquals(store.size(), steps[0], "progress counts the shards kept and the ones computed");
        assertFalse(Files.exists(tmp.resolve(".cut.partial")));
        for (int s = 0; s < whole.info().shards(); s++)
            assertArrayEquals(Files.readAllBytes(whole.directory().resolve(GradientIndex.shardName(s))),
                    Files.readAllBytes(resumed.directory().resolve(GradientIndex.shardName(s))), "shard " + s);
        List<List<TopK.Entry>> top = GradientIndex.open(resumed.directory(), model.trackedLayers()).top(prepared.stream().map(resumed::compress).toList(), 5);
        float[][] all = indexScores(whole);
        for (int q = 0; q < top.size(); q++) {
            float[] sorted = all[q].clone();
            Arrays.sort(sorted);
            assertEquals(5, top.get(q).size());
            assertEquals(sorted[sorted.length - 1], top.get(q).getFirst().score(), 0, "query " + q + "'s best");
        }
    }

    /** Which columns of the dense float64 eigenbasis q (n, n) the kept directions m (n, k) are. */
    static int[] kept(Mat m, double[] q, int n) {
        int[] which = new int[m.cols()];
        for (int c = 0; c < m.cols(); c++) {
            which[c] = -1;
            for (int j = 0; j < n && which[c] < 0; j++) {
                boolean same = true;
                for (int i = 0; i < n && same; i++) same = m.get(i, c) == (float) q[i * n + j];
                if (same) which[c] = j;
            }
            assertTrue(which[c] >= 0, "kept direction " + c + " is an eigenvector");
        }
        return which;
    }

    static void assertHeaviest(double[] mass, int[] kept, String what) {
        double lightestKept = Double.MAX_VALUE, heaviestLeft = -1;
        for (int i = 0; i < mass.length; i++) {
            final int at = i;
            if (Arrays.stream(kept).anyMatch(k -> k == at)) lightestKept = Math.min(lightestKept, mass[i]);
            else heaviestLeft = Math.max(heaviestLeft, mass[i]);
        }
        assertTrue(lightestKept >= heaviestLeft, what + ": kept mass " + lightestKept + " below a dropped " + heaviestLeft);
    }

    /** DW̄_ℓ = Σ_t Ds_t ā_tᵀ of a one-sequence batch per layer, in float64, from the tap. */
    static double[][] gradients(SequenceBatch batch) {
        double[][] g = new double[model.trackedLayers().size()][];
        model.forward(batch);
        model.backward(Targets.nextTokens(batch), (layer, b, abar, ds) -> {
            int p = layer.outFeatures(), a = layer.activationDim();
            double[] out = new double[p * a];
            for (int t = 0; t < abar.rows(); t++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < a; j++) out[i * a + j] += (double) ds.get(t, i) * abar.get(t, j);
            g[layer.index()] = out;
        });
        return g;
    }

    /** x (m, k) or its transpose times y (k, n) or its transpose, row-major float64. */
    static double[] mul(double[] x, boolean transX, double[] y, boolean transY, int m, int k, int n) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int l = 0; l < k; l++) s += (transX ? x[l * m + i] : x[i * k + l]) * (transY ? y[j * k + l] : y[l * n + j]);
                out[i * n + j] = s;
            }
        return out;
    }

    static double[] toDouble(Mat m) {
        double[] out = new double[m.rows() * m.cols()];
        for (int i = 0; i < m.rows(); i++) for (int j = 0; j < m.cols(); j++) out[i * m.cols() + j] = m.get(i, j);
        return out;
    }

    static float maxAbs(float[] v) {
        float m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }
}
