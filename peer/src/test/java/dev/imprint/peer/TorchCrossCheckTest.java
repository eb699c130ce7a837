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

    @Test
    void llama3RopeScalingAgrees() {
        crossCheck(new ModelConfig(Family.LLAMA, 2, 64, 101, 64, Norm.rms(1e-5), new AttentionSpec(4, 4, 16, false, false, QkvFusion.SEPARATE),
                new Positions.Rotary(500000, 16, Rope.Scaling.llama3(8, 1, 4, 32)), new MlpSpec(MlpSpec.Kind.SWIGLU, 96, false), false, true, 1, 2),
                32, new int[] {32, 25}, SEED + 30);
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
