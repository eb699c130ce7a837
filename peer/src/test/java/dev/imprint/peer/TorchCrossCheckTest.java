package dev.imprint.peer;

import dev.imprint.model.Family;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.ModelConfig.AttentionSpec;
import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.ParameterRole;
import dev.imprint.model.Transformer;
import dev.imprint.tensor.Rope;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Imprint's transformer of each family against the same network in libtorch (DJL, autograd),
 * written there from the Hugging Face definitions: identical random weights,
 * a ragged batch (padding carries no loss), logits at every real position and the gradient of
 * every parameter tensor. Relative error of a tensor: max|imprint − torch| / max|torch|.
 */
class TorchCrossCheckTest {
    static final long SEED = 20261124L;
    static final double TOLERANCE = 1e-4;

    @BeforeAll
    static void threads() {
        TorchTransformer.useThreads(2);
    }

    @Test
    void shortRaggedBatchAgrees() {
        crossCheck(ModelConfig.gpt2(2, 64, 4, 101, 32), 16, new int[] {16, 11}, SEED);
    }

    @Test
    void longerSequencesWhereAttentionMattersAgree() {
        crossCheck(ModelConfig.gpt2(2, 64, 4, 101, 64), 64, new int[] {64, 40}, SEED + 10);
    }

    @Test
    void llamaWithGroupedQueryAttentionAndAnUntiedHeadAgrees() {
        crossCheck(new ModelConfig(Family.LLAMA, 2, 64, 101, 64, Norm.rms(1e-5), new AttentionSpec(4, 2, 16, false, false, QkvFusion.SEPARATE),
                new Positions.Rotary(10000, 16, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, false, 1, 2),
                32, new int[] {32, 19}, SEED + 20);
    }

    /**
     * θ = 5·10⁵ on 16 dims with original_max_position_embeddings 64 (low/high wavelengths 64 and 16):
     * pair 0 (wavelength 2π) is kept, pair 1 (32.4) is interpolated, pairs 2–7 are divided by the factor.
     */
    @Test
    void llama3RopeScalingAgrees() {
        Positions.Rotary rotary = new Positions.Rotary(500000, 16, Rope.Scaling.llama3(8, 1, 4, 64));
        double[] scaled = TorchTransformer.inverseFrequencies(rotary);
        int kept = 0, interpolated = 0, divided = 0;
        for (int i = 0; i < scaled.length; i++) {
            double plain = Math.pow(500000, -2.0 * i / 16);
            if (scaled[i] == plain) kept++;
            else if (Math.abs(scaled[i] - plain / 8) <= 1e-15 * plain) divided++;
            else interpolated++;
        }
        assertTrue(kept > 0 && interpolated > 0 && divided > 0,
                "every band of the llama3 scaling exercised: kept " + kept + ", interpolated " + interpolated + ", divided " + divided);
        crossCheck(new ModelConfig(Family.LLAMA, 2, 64, 101, 64, Norm.rms(1e-5), new AttentionSpec(4, 4, 16, false, false, QkvFusion.SEPARATE),
                rotary, new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, true, 1, 2),
                32, new int[] {32, 25}, SEED + 30);
    }

    /**
     * The reference's two GELUs are the ones they claim to be: DJL's gelu is the exact (erf) one,
     * the tanh form is GPT-2's gelu_new; the two differ by up to ~5e-4, far above the float32 noise.
     */
    @Test
    void referenceGelusAreExactAndTanh() {
        float[] xs = new float[121];
        for (int i = 0; i < xs.length; i++) xs[i] = -6f + 0.1f * i;
        float[] exact, tanh;
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager("PyTorch")) {
            ai.djl.ndarray.NDArray x = m.create(xs);
            exact = TorchTransformer.geluExact(x).toFloatArray();
            tanh = TorchTransformer.geluTanh(x).toFloatArray();
        }
        double worstExact = 0, worstTanh = 0, gap = 0;
        for (int i = 0; i < xs.length; i++) {
            double x = xs[i];
            double e = 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            double t = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            worstExact = Math.max(worstExact, Math.abs(exact[i] - e));
            worstTanh = Math.max(worstTanh, Math.abs(tanh[i] - t));
            gap = Math.max(gap, Math.abs(e - t));
        }
        System.out.printf("gelu: exact max|diff| %.3e, tanh max|diff| %.3e, exact vs tanh %.3e%n", worstExact, worstTanh, gap);
        assertTrue(gap > 1e-4, "the two forms differ measurably on this grid");
        assertTrue(worstExact < 2e-6, "DJL's gelu is the erf form: max|diff| " + worstExact);
        assertTrue(worstTanh < 2e-6, "geluTanh is gelu_new: max|diff| " + worstTanh);
    }

    /**
     * erf by its Maclaurin series for |x| ≤ 4.5 (the largest term is below 1e8, so the sum is good to
     * about 1e-8 in double), else ±1 (1 − |erf| &lt; 2e-10 there).
     */
    static double erf(double x) {
        if (Math.abs(x) > 4.5) return Math.signum(x);
        double sum = 0, term = x; // term = (−1)ⁿ x^(2n+1) / n!
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    @Test
    void qwen2WithQkvBiasAndOneKeyValueHeadAgrees() {
        crossCheck(new ModelConfig(Family.QWEN2, 2, 64, 101, 64, Norm.rms(1e-6), new AttentionSpec(4, 1, 16, true, false, QkvFusion.SEPARATE),
                new Positions.Rotary(1e6, 16, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, true, 1, 2),
                32, new int[] {32, 14}, SEED + 40);
    }

    @Test
    void gptNeoXWithPartialRotaryAndParallelResidualAgrees() {
        crossCheck(ModelConfig.neox(2, 64, 4, 101, 64), 32, new int[] {32, 21}, SEED + 50);
    }

    @Test
    void gptNeoXWithSequentialResidualAgrees() {
        crossCheck(new ModelConfig(Family.GPT_NEOX, 2, 64, 101, 64, Norm.layerNorm(1e-5), new AttentionSpec(4, 4, 16, true, true, QkvFusion.FUSED_PER_HEAD),
                new Positions.Rotary(10000, 8, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.GELU_TANH, 256, true), false, false, 0, 0),
                32, new int[] {32, 9}, SEED + 60);
    }

    /**
     * GPT-2's initialization with the matrices scaled up 8× (std 0.16: attention far from uniform,
     * GELU far from linear) and nonzero biases and gains, so that every term of the backward matters.
     */
    static Parameters spreadParameters(ModelConfig config, long seed) {
        Parameters p = Parameters.initialize(config, seed);
        Random rng = new Random(seed + 1);
        for (ParameterLayout.Entry e : p.layout().entries()) {
            boolean gain = e.role() == ParameterRole.NORM1_W || e.role() == ParameterRole.NORM2_W || e.role() == ParameterRole.FINAL_NORM_W;
            float[] t = p.tensor(e);
            for (int i = 0; i < t.length; i++) {
                if (!e.role().vector()) t[i] *= 8f;
                else t[i] += (float) (rng.nextGaussian() * (gain ? 0.2 : 0.1));
            }
        }
        return p;
    }

    static void crossCheck(ModelConfig config, int T, int[] lengths, long seed) {
        Parameters params = spreadParameters(config, seed);
        Random rng = new Random(seed + 2);
        int B = lengths.length, V = config.vocabSize();
        int[] tokens = new int[B * T];
        for (int b = 0; b < B; b++) for (int t = 0; t < lengths[b]; t++) tokens[b * T + t] = rng.nextInt(V);
        SequenceBatch batch = new SequenceBatch(B, T, tokens, lengths);
        Targets targets = Targets.nextTokens(batch);
        System.out.printf("seed %d: %s, %d layers, C=%d, H=%d, KV=%d, V=%d, B=%d, T=%d, lengths %s%n", seed, config.family().modelType(),
                config.layers(), config.hidden(), config.attention().heads(), config.attention().kvHeads(), V, B, T, java.util.Arrays.toString(lengths));

        LanguageModel imprint = new Transformer(params, LayerSelection.MLP);
        imprint.forward(batch);
        float[] logitsImprint = imprint.logits().data().clone();
        double lossImprint = imprint.loss(targets);
        Parameters gradImprint = new Parameters(params.layout());
        imprint.backward(targets, null, gradImprint);

        Parameters gradTorch = new Parameters(params.layout());
        float[] logitsTorch;
        double lossTorch;
        try (TorchTransformer torch = new TorchTransformer(params)) {
            logitsTorch = torch.logits(batch);
            torch.forwardBackward(batch, targets);
            lossTorch = torch.forwardBackward(batch, targets); // twice: gradients must be zeroed, not accumulated
            torch.gradients(gradTorch);
        }

        // logits at real positions only: padding rows are computed by both but mean nothing
        double maxDiff = 0, maxRef = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int v = 0, r = (b * T + t) * V; v < V; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(logitsImprint[r + v] - logitsTorch[r + v]));
                    maxRef = Math.max(maxRef, Math.abs(logitsTorch[r + v]));
                }
        double logitsRel = maxDiff / maxRef;
        System.out.printf("loss imprint %.6f torch %.6f; logits max|diff| %.3e, max|torch| %.3f, relative %.3e%n",
                lossImprint, lossTorch, maxDiff, maxRef, logitsRel);
        assertTrue(logitsRel <= TOLERANCE, "seed " + seed + ": logits relative error " + logitsRel);
        assertEquals(lossTorch, lossImprint, 1e-4 * Math.abs(lossTorch), "seed " + seed + ": loss");

        List<String> failures = new ArrayList<>();
        double worst = 0;
        for (ParameterLayout.Entry e : params.layout().entries()) {
            double diff = 0, ref = 0;
            float[] gi = gradImprint.tensor(e), gt = gradTorch.tensor(e);
            for (int i = 0; i < gi.length; i++) {
                diff = Math.max(diff, Math.abs(gi[i] - gt[i]));
                ref = Math.max(ref, Math.abs(gt[i]));
            }
            double rel = ref == 0 ? diff : diff / ref;
            worst = Math.max(worst, rel);
            System.out.printf("  %-44s max|torch| %.3e  max|diff| %.3e  relative %.3e%n", e.name(), ref, diff, rel);
            if (!(rel <= TOLERANCE) || ref == 0) failures.add(e.name() + " " + rel + (ref == 0 ? " (zero reference gradient)" : ""));
        }
        System.out.printf("worst gradient relative error %.3e%n", worst);
        assertTrue(failures.isEmpty(), "seed " + seed + ": gradients differ beyond " + TOLERANCE + ": " + failures);
    }
}
