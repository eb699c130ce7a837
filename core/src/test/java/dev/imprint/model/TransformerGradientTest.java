package dev.imprint.model;

import dev.imprint.model.ModelConfig.AttentionSpec;
import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Rope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static dev.imprint.model.ParameterRole.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The {@link Transformer}'s explicit backward, for every family and variant, against float64
 * central finite differences of an independent float64 forward ({@link TransformerReference64}):
 * sampled entries of every parameter tensor; the float32 loss against the float64 one; the taps
 * against the weight gradients they must sum to; and which layers a selection tracks.
 */
class TransformerGradientTest {
    static final long SEED = 20261123L;
    static final int V = 37, CONTEXT = 16;

    /** The configurations, each with a seed of its own (printed in every assertion message). */
    static Stream<Arguments> configs() {
        List<Arguments> list = new ArrayList<>();
        // (a) GPT-2 as the factory makes it
        list.add(Arguments.of("a gpt2", ModelConfig.gpt2(2, 16, 2, V, CONTEXT)));
        // (b) GPT-2 with exact GELU, an odd MLP width and an untied head
        list.add(Arguments.of("b gpt2 exact-gelu untied", new ModelConfig(Family.GPT2, 2, 16, V, CONTEXT, Norm.layerNorm(1e-5),
                new AttentionSpec(2, 2, 8, true, true, QkvFusion.FUSED_BLOCKS), new Positions.Learned(),
                new MlpSpec(MlpSpec.Kind.GELU_EXACT, 40, true), false, false, V - 1, V - 1)));
        // (c) Llama, grouped-query (4 heads, 2 kv heads), untied head
        list.add(Arguments.of("c llama gqa untied", untied(ModelConfig.llama(2, 16, 4, 2, 40, V, CONTEXT))));
        // (d) Qwen2: q/k/v biases, no output bias, multi-query (1 kv head), θ = 10⁶
        list.add(Arguments.of("d qwen2 mqa", new ModelConfig(Family.QWEN2, 2, 24, V, CONTEXT, Norm.rms(1e-6),
                new AttentionSpec(4, 1, 6, true, false, QkvFusion.SEPARATE), new Positions.Rotary(1e6, 6, Rope.Scaling.none()),
                new MlpSpec(MlpSpec.Kind.SWIGLU, 40, false), false, true, V - 1, V - 1)));
        // (e) Llama with Llama-3 rope scaling and MLP (and attention) biases. θ = 100 and
        // original_max_position_embeddings = 32 put the four frequencies (wavelengths 6.3, 20, 63, 200)
        // in all three regions of the scaling: unchanged (< 8), smoothed (8..32) and divided (> 32).
        list.add(Arguments.of("e llama3-scaling mlp-bias", new ModelConfig(Family.LLAMA, 2, 16, V, CONTEXT, Norm.rms(1e-5),
                new AttentionSpec(2, 1, 8, true, true, QkvFusion.SEPARATE), new Positions.Rotary(100, 8, Rope.Scaling.llama3(8, 1, 4, 32)),
                new MlpSpec(MlpSpec.Kind.SWIGLU, 40, true), false, true, V - 1, V - 1)));
        // (f) GPT-NeoX as the factory makes it: rotary on 2 of 8 dims, parallel residual, exact GELU, untied head
        list.add(Arguments.of("f neox", ModelConfig.neox(2, 16, 2, V, CONTEXT)));
        // (g) GPT-NeoX with the sequential residual, tanh GELU and rotary on half of each head
        ModelConfig neox = ModelConfig.neox(2, 16, 2, V, CONTEXT);
        list.add(Arguments.of("g neox sequential tanh", new ModelConfig(Family.GPT_NEOX, 2, 16, V, CONTEXT, neox.norm(), neox.attention(),
                new Positions.Rotary(10000, 4, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.GELU_TANH, 64, true), false, false, V - 1, V - 1)));
        // (h) LayerNorm without bias on a Llama layout
        list.add(Arguments.of("h llama layernorm-no-bias", new ModelConfig(Family.LLAMA, 2, 16, V, CONTEXT, new Norm(Norm.Kind.LAYER_NORM, false, 1e-5),
                new AttentionSpec(4, 2, 4, false, false, QkvFusion.SEPARATE), new Positions.Rotary(10000, 4, Rope.Scaling.none()),
                new MlpSpec(MlpSpec.Kind.SWIGLU, 40, false), false, false, V - 1, V - 1)));
        // (i) heads · head_dim ≠ hidden (Q = 24 from C = 16), as a head_dim override allows
        list.add(Arguments.of("i llama head_dim-override", new ModelConfig(Family.LLAMA, 2, 16, V, CONTEXT, Norm.rms(1e-5),
                new AttentionSpec(4, 2, 6, false, false, QkvFusion.SEPARATE), new Positions.Rotary(10000, 6, Rope.Scaling.none()),
                new MlpSpec(MlpSpec.Kind.SWIGLU, 40, false), false, true, V - 1, V - 1)));
        for (int i = 0; i < list.size(); i++) {
            Object[] a = list.get(i).get();
            list.set(i, Arguments.of(a[0], a[1], SEED + 100L * i));
        }
        return list.stream();
    }

    private static ModelConfig untied(ModelConfig c) {
        return new ModelConfig(c.family(), c.layers(), c.hidden(), c.vocabSize(), c.contextLength(), c.norm(), c.attention(), c.positions(),
                c.mlp(), c.parallelResidual(), false, c.bosTokenId(), c.eosTokenId());
    }

    /** Norm gains 1 + N(0, 0.1²), other vectors N(0, 0.1²), matrices N(0, 0.3²): attention and the MLP far from linear. */
    static Parameters randomParameters(ModelConfig config, long seed) {
        Parameters p = new Parameters(config.layout());
        Random rng = new Random(seed);
        for (ParameterLayout.Entry e : p.layout().entries()) {
            boolean gain = e.role() == NORM1_W || e.role() == NORM2_W || e.role() == FINAL_NORM_W;
            float[] t = p.tensor(e);
            for (int i = 0; i < t.length; i++) t[i] = (float) ((gain ? 1 : 0) + rng.nextGaussian() * (e.role().vector() ? 0.1 : 0.3));
        }
        return p;
    }

    /** Two sequences padded to T = 7, of lengths 7 and 4. */
    static SequenceBatch raggedBatch(ModelConfig config, long seed) {
        Random rng = new Random(seed);
        int T = 7;
        int[] lengths = {7, 4};
        int[] tokens = new int[2 * T];
        for (int b = 0; b < 2; b++) for (int t = 0; t < lengths[b]; t++) tokens[b * T + t] = rng.nextInt(config.vocabSize());
        return new SequenceBatch(2, T, tokens, lengths);
    }

    static double[][] toDouble(Parameters params) {
        double[][] p = new double[params.layout().entries().size()][];
        for (ParameterLayout.Entry e : params.layout().entries()) {
            float[] t = params.tensor(e);
            p[e.index()] = new double[t.length];
            for (int i = 0; i < t.length; i++) p[e.index()][i] = t[i];
        }
        return p;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void everyParameterGradientMatchesFloat64FiniteDifferences(String name, ModelConfig config, long seed) {
        String tag = name + " (seed " + seed + ")";
        Parameters params = randomParameters(config, seed);
        SequenceBatch batch = raggedBatch(config, seed + 1);
        Targets targets = Targets.nextTokens(batch);
        Transformer model = new Transformer(params, LayerSelection.MLP);
        Parameters grads = new Parameters(params.layout());
        model.forward(batch);
        double loss32 = model.loss(targets);
        model.backward(targets, null, grads);

        double[][] p64 = toDouble(params);
        TransformerReference64 ref = new TransformerReference64(config);
        double loss64 = ref.loss(p64, batch, targets);
        assertTrue(Double.isFinite(loss64) && loss64 > 0, tag + ": reference loss " + loss64);
        assertEquals(loss64, loss32, 1e-5 * Math.abs(loss64), tag + ": float32 loss vs float64 reference");

        Random pick = new Random(seed + 2);
        double h = 1e-5, worst = 0;
        String worstAt = "";
        int C = config.hidden();
        for (ParameterLayout.Entry e : params.layout().entries()) {
            int checks = Math.min(e.size(), 6);
            double[] t = p64[e.index()];
            float[] g = grads.tensor(e);
            for (int c = 0; c < checks; c++) {
                int i = e.size() <= 6 ? c : pick.nextInt(e.size());
                if (e.role() == TOKEN_EMBEDDING && c == 0) i = batch.tokens()[0] * C + pick.nextInt(C);        // a used row
                if (e.role() == TOKEN_EMBEDDING && c == 1) i = batch.tokens()[7 + 2] * C + pick.nextInt(C);    // one of sequence 1
                if (e.role() == POSITION_EMBEDDING && c == 0) i = 3 * C + pick.nextInt(C);                   // a used position
                double keep = t[i];
                t[i] = keep + h;
                double up = ref.loss(p64, batch, targets);
                t[i] = keep - h;
                double down = ref.loss(p64, batch, targets);
                t[i] = keep;
                double fd = (up - down) / (2 * h), analytic = g[i];
                double err = Math.abs(fd - analytic) / (2e-4 + 1e-3 * Math.abs(fd));
                if (err > worst) {
                    worst = err;
                    worstAt = e.name() + "[" + i + "] fd " + fd + " analytic " + analytic;
                }
                assertEquals(fd, analytic, 2e-4 + 1e-3 * Math.abs(fd), tag + ": d loss / d " + e.name() + "[" + i + "]");
            }
        }
        System.out.printf("%s: loss64 %.10f loss32 %.10f rel %.2e; worst gradient error %.3f of the bound at %s%n",
                tag, loss64, loss32, Math.abs(loss32 - loss64) / Math.abs(loss64), worst, worstAt);
    }

    /** Every tracked layer's weight (and bias) role in the layout, in forward order. */
    private static List<ParameterRole[]> linearRoles(ModelConfig config, LayerSelection selection) {
        List<ParameterRole[]> roles = new ArrayList<>();
        if (selection == LayerSelection.ALL_LINEAR) {
            if (config.attention().fusion() == QkvFusion.SEPARATE) {
                roles.add(new ParameterRole[] {Q_W, Q_B});
                roles.add(new ParameterRole[] {K_W, K_B});
                roles.add(new ParameterRole[] {V_W, V_B});
            } else {
                roles.add(new ParameterRole[] {QKV_W, QKV_B});
            }
            roles.add(new ParameterRole[] {O_W, O_B});
        }
        if (config.mlp().kind() == MlpSpec.Kind.SWIGLU) roles.add(new ParameterRole[] {GATE_W, GATE_B});
        roles.add(new ParameterRole[] {UP_W, UP_B});
        roles.add(new ParameterRole[] {DOWN_W, DOWN_B});
        return roles;
    }

    private static void assertTracks(ModelConfig config, LayerSelection selection, List<TrackedLayer> tracked, String tag) {
        List<ParameterRole[]> roles = linearRoles(config, selection);
        ParameterLayout layout = config.layout();
        assertEquals(config.layers() * roles.size(), tracked.size(), tag + ": number of tracked layers with " + selection);
        int k = 0;
        for (int l = 0; l < config.layers(); l++)
            for (ParameterRole[] r : roles) {
                TrackedLayer t = tracked.get(k);
                ParameterLayout.Entry w = layout.entry(r[0], l);
                String where = tag + ": tracked layer " + k + " with " + selection;
                assertEquals(k, t.index(), where);
                assertEquals(config.family().modulePath(r[0], l), t.name(), where);
                assertEquals(w.cols(), t.inFeatures(), where + " " + t.name() + " in features");
                assertEquals(w.rows(), t.outFeatures(), where + " " + t.name() + " out features");
                assertEquals(layout.has(r[1], l), t.bias(), where + " " + t.name() + " bias");
                k++;
            }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void mlpSelectionTracksExactlyTheMlpMatricesInForwardOrder(String name, ModelConfig config, long seed) {
        String tag = name + " (seed " + seed + ")";
        Parameters params = randomParameters(config, seed);
        assertTracks(config, LayerSelection.MLP, new Transformer(params, LayerSelection.MLP).trackedLayers(), tag);
        assertTracks(config, LayerSelection.ALL_LINEAR, new Transformer(params, LayerSelection.ALL_LINEAR).trackedLayers(), tag);
        for (TrackedLayer t : new Transformer(params, LayerSelection.MLP).trackedLayers())
            assertTrue(t.name().contains("mlp."), tag + ": " + t.name() + " is not an MLP module");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void tapsSumToTheWeightGradientsAndAreZeroOnPadding(String name, ModelConfig config, long seed) {
        String tag = name + " (seed " + seed + ")";
        Parameters params = randomParameters(config, seed + 10);
        SequenceBatch batch = raggedBatch(config, seed + 11);
        Targets targets = Targets.nextTokens(batch);
        Transformer model = new Transformer(params, LayerSelection.ALL_LINEAR);
        ParameterLayout layout = params.layout();
        Map<String, ParameterRole[]> roleOf = new HashMap<>();
        Map<String, Integer> layerOf = new HashMap<>();
        for (int l = 0; l < config.layers(); l++)
            for (ParameterRole[] r : linearRoles(config, LayerSelection.ALL_LINEAR)) {
                roleOf.put(config.family().modulePath(r[0], l), r);
                layerOf.put(config.family().modulePath(r[0], l), l);
            }
        Parameters grads = new Parameters(layout);
        Map<String, double[][]> fromTaps = new HashMap<>();
        int T = batch.seqLen();
        model.forward(batch);
        model.backward(targets, (layer, b, abar, ds) -> {
            String where = tag + ": " + layer.name();
            assertTrue(roleOf.containsKey(layer.name()), where + " is no linear layer of the model");
            assertFalse(fromTaps.containsKey(layer.name()), where + " reached the tap twice");
            int M = layer.inFeatures(), P = layer.outFeatures(), Wa = layer.activationDim();
            assertEquals(b.batchSize() * T, abar.rows(), where + " ā rows");
            assertEquals(b.batchSize() * T, ds.rows(), where + " Ds rows");
            assertEquals(Wa, abar.cols(), where + " ā width");
            assertEquals(P, ds.cols(), where + " Ds width");
            double[][] dw = new double[P][Wa];
            for (int r = 0; r < abar.rows(); r++) {
                boolean real = b.valid(r / T, r % T);
                if (layer.bias()) assertEquals(real ? 1f : 0f, abar.get(r, M), where + ": homogeneous coordinate of row " + r);
                if (!real) {
                    for (int i = 0; i < Wa; i++) assertEquals(0f, abar.get(r, i), 0f, where + ": ā on padding row " + r);
                    for (int j = 0; j < P; j++) assertEquals(0f, ds.get(r, j), 0f, where + ": Ds on padding row " + r);
                }
                for (int j = 0; j < P; j++)
                    for (int i = 0; i < Wa; i++) dw[j][i] += (double) ds.get(r, j) * abar.get(r, i);
            }
            fromTaps.put(layer.name(), dw);
        }, grads);
        assertEquals(model.trackedLayers().size(), fromTaps.size(), tag + ": layers that reached the tap");
        double worst = 0;
        for (Map.Entry<String, double[][]> t : fromTaps.entrySet()) {
            ParameterRole[] r = roleOf.get(t.getKey());
            int l = layerOf.get(t.getKey());
            Mat gw = grads.mat(r[0], l);
            Mat gb = layout.has(r[1], l) ? grads.mat(r[1], l) : null;
            double[][] dw = t.getValue();
            double max = 0;
            for (int j = 0; j < gw.rows(); j++) for (int i = 0; i < gw.cols(); i++) max = Math.max(max, Math.abs(gw.get(j, i)));
            if (gb != null) for (int j = 0; j < gb.cols(); j++) max = Math.max(max, Math.abs(gb.get(0, j)));
            assertTrue(max > 0, tag + ": " + t.getKey() + " has an all-zero gradient");
            double tol = 1e-5 * max;
            for (int j = 0; j < gw.rows(); j++)
                for (int i = 0; i < gw.cols(); i++) {
                    worst = Math.max(worst, Math.abs(gw.get(j, i) - dw[j][i]) / max);
                    assertEquals(gw.get(j, i), dw[j][i], tol, tag + ": tap Σ Ds āᵀ vs " + config.family().tensorName(r[0], l) + "[" + j + "," + i + "]");
                }
            if (gb != null)
                for (int j = 0; j < gb.cols(); j++) {
                    worst = Math.max(worst, Math.abs(gb.get(0, j) - dw[j][gw.cols()]) / max);
                    assertEquals(gb.get(0, j), dw[j][gw.cols()], tol, tag + ": tap Σ Ds vs " + config.family().tensorName(r[1], l) + "[" + j + "]");
                }
        }
        System.out.printf("%s: worst tap error %.2e of the layer's max |gradient|%n", tag, worst);
    }

    /** The reference's erf against tabulated values (the exact-GELU oracle must be far better than float32). */
    @Test
    void referenceErfIsAccurate() {
        double[][] table = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
                {2, 0.9953222650189527}, {3, 0.9999779095030014}, {4, 0.9999999845827421}, {-1.5, -0.9661051464753108}};
        for (double[] row : table)
            assertEquals(row[1], TransformerReference64.erf(row[0]), 1e-14, "erf(" + row[0] + ")");
        assertEquals(0, TransformerReference64.erf(0), 0);
    }

    /** The reference's Llama-3 scaling puts configuration (e)'s frequencies in all three regions, as intended. */
    @Test
    void llama3ScalingCoversEveryRegion() {
        double[] inv = {1, Math.pow(100, -0.25), 0.1, Math.pow(100, -0.75)};
        double[] scaled = inv.clone();
        TransformerReference64.llama3(scaled, 8, 1, 4, 32);
        assertEquals(inv[0], scaled[0], 0, "wavelength 6.3 < 8: unchanged");
        double wavelen = 2 * Math.PI / inv[1], smooth = (32 / wavelen - 1) / 3;
        assertTrue(smooth > 0 && smooth < 1, "wavelength " + wavelen + " is in the smoothed band");
        assertEquals((1 - smooth) * inv[1] / 8 + smooth * inv[1], scaled[1], 1e-15);
        assertEquals(inv[2] / 8, scaled[2], 1e-18, "wavelength 63 > 32: divided by the factor");
        assertEquals(inv[3] / 8, scaled[3], 1e-18);
    }
}
