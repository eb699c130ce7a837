package dev.imprint.model;

import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The explicit backward against float64 central finite differences of an independent float64
 * forward (every parameter tensor), and the taps against the weight gradients they must sum to.
 */
class GPT2GradientTest {
    static final long SEED = 20261123L;
    static final GPT2Config TINY = GPT2Config.of(2, 16, 2, 37, 16);

    /** Random parameters with enough spread that attention and GELU are far from linear. */
    static Parameters randomParameters(GPT2Config config, long seed) {
        Parameters p = new Parameters(new ParameterLayout(config));
        Random rng = new Random(seed);
        for (ParameterLayout.Entry e : p.layout().entries()) {
            boolean gain = e.kind() == ParameterKind.LN1_W || e.kind() == ParameterKind.LN2_W || e.kind() == ParameterKind.LNF_W;
            for (int i = 0; i < e.size(); i++)
                p.data()[e.offset() + i] = (float) ((gain ? 1 : 0) + rng.nextGaussian() * (e.kind().vector() ? 0.1 : 0.3));
        }
        return p;
    }

    static SequenceBatch raggedBatch(GPT2Config config, long seed) {
        Random rng = new Random(seed);
        int T = 7;
        int[] lengths = {7, 4};
        int[] tokens = new int[2 * T];
        for (int b = 0; b < 2; b++) for (int t = 0; t < lengths[b]; t++) tokens[b * T + t] = rng.nextInt(config.vocabSize());
        return new SequenceBatch(2, T, tokens, lengths);
    }

    @Test
    void everyParameterGradientMatchesFloat64FiniteDifferences() {
        Parameters params = randomParameters(TINY, SEED);
        SequenceBatch batch = raggedBatch(TINY, SEED + 1);
        Targets targets = Targets.nextTokens(batch);
        GPT2 model = new GPT2(params, LayerSelection.MLP);
        Parameters grads = new Parameters(params.layout());
        model.forward(batch);
        double loss32 = model.loss(targets);
        model.backward(targets, null, grads);

        double[] p64 = new double[params.data().length];
        for (int i = 0; i < p64.length; i++) p64[i] = params.data()[i];
        Gpt2Reference64 ref = new Gpt2Reference64(params.layout());
        double loss64 = ref.loss(p64, batch, targets);
        assertEquals(loss64, loss32, 1e-5 * Math.abs(loss64), "seed " + SEED + ": float32 loss vs float64 reference");

        Random pick = new Random(SEED + 2);
        double h = 1e-5;
        for (ParameterLayout.Entry e : params.layout().entries()) {
            int checks = Math.min(e.size(), 6);
            for (int c = 0; c < checks; c++) {
                int i = e.offset() + (e.size() <= 6 ? c : pick.nextInt(e.size()));
                if (e.kind() == ParameterKind.WTE && c == 0) i = e.offset() + batch.tokens()[0] * TINY.nEmbd(); // a used row
                double keep = p64[i];
                p64[i] = keep + h;
                double up = ref.loss(p64, batch, targets);
                p64[i] = keep - h;
                double down = ref.loss(p64, batch, targets);
                p64[i] = keep;
                double fd = (up - down) / (2 * h);
                double analytic = grads.data()[i];
                assertEquals(fd, analytic, 2e-4 + 1e-3 * Math.abs(fd),
                        "seed " + SEED + ": d loss / d " + e.name() + "[" + (i - e.offset()) + "]");
            }
        }
    }

    @Test
    void tapsSumToTheWeightGradientsAndAreZeroOnPadding() {
        Parameters params = randomParameters(TINY, SEED + 10);
        SequenceBatch batch = raggedBatch(TINY, SEED + 11);
        Targets targets = Targets.nextTokens(batch);
        GPT2 model = new GPT2(params, LayerSelection.ALL_LINEAR);
        assertEquals(4 * TINY.nLayer(), model.trackedLayers().size());
        Parameters grads = new Parameters(params.layout());
        Map<String, double[][]> fromTaps = new HashMap<>();
        int T = batch.seqLen();
        model.forward(batch);
        model.backward(targets, (layer, b, abar, ds) -> {
            assertEquals(layer.activationDim(), abar.cols());
            assertEquals(layer.outFeatures(), ds.cols());
            int M = layer.inFeatures(), P = layer.outFeatures();
            double[][] dw = new double[M + 1][P]; // Conv1D layout plus the bias row
            for (int r = 0; r < abar.rows(); r++) {
                boolean real = b.valid(r / T, r % T);
                assertEquals(real ? 1f : 0f, abar.get(r, M), "homogeneous coordinate of row " + r);
                for (int j = 0; j < P; j++) {
                    if (!real) assertEquals(0f, ds.get(r, j), 0f, layer.name() + ": Ds on padding row " + r);
                    for (int i = 0; i <= M; i++) dw[i][j] += (double) abar.get(r, i) * ds.get(r, j);
                }
            }
            fromTaps.put(layer.name(), dw);
        }, grads);
        assertEquals(model.trackedLayers().size(), fromTaps.size());
        for (int l = 0; l < TINY.nLayer(); l++) {
            compare(fromTaps.get("h." + l + ".attn.c_attn"), grads, ParameterKind.QKV_W, ParameterKind.QKV_B, l);
            compare(fromTaps.get("h." + l + ".attn.c_proj"), grads, ParameterKind.ATTN_PROJ_W, ParameterKind.ATTN_PROJ_B, l);
            compare(fromTaps.get("h." + l + ".mlp.c_fc"), grads, ParameterKind.FC_W, ParameterKind.FC_B, l);
            compare(fromTaps.get("h." + l + ".mlp.c_proj"), grads, ParameterKind.FC_PROJ_W, ParameterKind.FC_PROJ_B, l);
        }
    }

    private static void compare(double[][] fromTap, Parameters grads, ParameterKind w, ParameterKind b, int layer) {
        Mat gw = grads.mat(w, layer), gb = grads.mat(b, layer);
        for (int i = 0; i < gw.rows(); i++)
            for (int j = 0; j < gw.cols(); j++)
                assertEquals(gw.get(i, j), fromTap[i][j], 1e-5 + 1e-4 * Math.abs(gw.get(i, j)), w.hfName(layer) + "[" + i + "," + j + "]");
        for (int j = 0; j < gb.cols(); j++)
            assertEquals(gb.get(0, j), fromTap[gw.rows()][j], 1e-5 + 1e-4 * Math.abs(gb.get(0, j)), b.hfName(layer) + "[" + j + "]");
    }

    @Test
    void paddingDoesNotChangeARealSequencesLossOrTaps() {
        Parameters params = randomParameters(TINY, SEED + 20);
        SequenceBatch ragged = raggedBatch(TINY, SEED + 21);
        int T = ragged.seqLen();
        int[] second = java.util.Arrays.copyOfRange(ragged.tokens(), T, T + ragged.lengths()[1]);
        GPT2 model = new GPT2(params, LayerSelection.MLP);
        model.forward(ragged);
        float[] lpBatch = model.logProbs(Targets.nextTokens(ragged));
        SequenceBatch alone = SequenceBatch.of(second);
        model.forward(alone);
        float[] lpAlone = model.logProbs(Targets.nextTokens(alone));
        for (int t = 0; t < second.length; t++) assertEquals(lpAlone[t], lpBatch[T + t], 1e-5, "position " + t);
    }

    @Test
    void sampledTargetsAreSeededAndCoverEveryRealPosition() {
        Parameters params = randomParameters(TINY, SEED + 30);
        SequenceBatch batch = raggedBatch(TINY, SEED + 31);
        GPT2 model = new GPT2(params, LayerSelection.MLP);
        model.forward(batch);
        Targets a = model.sampleTargets(7), b = model.sampleTargets(7), c = model.sampleTargets(8);
        assertArrayEquals(a.tokens(), b.tokens());
        assertFalse(java.util.Arrays.equals(a.tokens(), c.tokens()), "another seed draws other labels");
        for (int r = 0; r < a.weights().length; r++)
            assertEquals(batch.valid(r / batch.seqLen(), r % batch.seqLen()) ? 1f : 0f, a.weights()[r]);
    }

    @Test
    void completionTargetsWeightOnlyCompletionTokens() {
        SequenceBatch batch = SequenceBatch.of(new int[] {5, 6, 7, 8, 9});
        Targets t = Targets.completion(batch, new int[] {2});
        // positions 2 and 3 predict tokens 8 and 9 (the completion); position 4 has no next token
        assertArrayEquals(new float[] {0, 0, 1, 1, 0}, t.weights());
        assertEquals(8, t.tokens()[2]);
        assertEquals(9, t.tokens()[3]);
    }
}
