package dev.imprint.peer;

import dev.imprint.model.GPT2;
import dev.imprint.model.GPT2Config;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ParameterKind;
import dev.imprint.model.ParameterLayout;
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
 * Imprint's GPT-2 against the same network in libtorch (DJL, autograd): identical random weights,
 * a ragged batch (padding carries no loss), logits at every real position and the gradient of
 * every parameter tensor. Relative error of a tensor: max|imprint − torch| / max|torch|.
 */
class TorchCrossCheckTest {
    static final long SEED = 20261124L;
    static final double TOLERANCE = 1e-4;

    @BeforeAll
    static void threads() {
        TorchGpt2.useThreads(2);
    }

    @Test
    void shortRaggedBatchAgrees() {
        crossCheck(GPT2Config.of(2, 64, 4, 101, 32), 16, new int[] {16, 11}, SEED);
    }

    @Test
    void longerSequencesWhereAttentionMattersAgree() {
        crossCheck(GPT2Config.of(2, 64, 4, 101, 64), 64, new int[] {64, 40}, SEED + 10);
    }

    /**
     * GPT-2's initialization with the matrices scaled up 8× (std 0.16: attention far from uniform,
     * GELU far from linear) and nonzero biases and gains, so that every term of the backward matters.
     */
    static Parameters spreadParameters(GPT2Config config, long seed) {
        Parameters p = Parameters.initialize(config, seed);
        Random rng = new Random(seed + 1);
        for (ParameterLayout.Entry e : p.layout().entries()) {
            boolean gain = e.kind() == ParameterKind.LN1_W || e.kind() == ParameterKind.LN2_W || e.kind() == ParameterKind.LNF_W;
            for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                if (!e.kind().vector()) p.data()[i] *= 8f;
                else p.data()[i] += (float) (rng.nextGaussian() * (gain ? 0.2 : 0.1));
            }
        }
        return p;
    }

    static void crossCheck(GPT2Config config, int T, int[] lengths, long seed) {
        Parameters params = spreadParameters(config, seed);
        Random rng = new Random(seed + 2);
        int B = lengths.length, V = config.vocabSize();
        int[] tokens = new int[B * T];
        for (int b = 0; b < B; b++) for (int t = 0; t < lengths[b]; t++) tokens[b * T + t] = rng.nextInt(V);
        SequenceBatch batch = new SequenceBatch(B, T, tokens, lengths);
        Targets targets = Targets.nextTokens(batch);
        System.out.printf("seed %d: %d layers, C=%d, H=%d, V=%d, B=%d, T=%d, lengths %s%n", seed, config.nLayer(),
                config.nEmbd(), config.nHead(), V, B, T, java.util.Arrays.toString(lengths));

        GPT2 imprint = new GPT2(params, LayerSelection.MLP);
        imprint.forward(batch);
        float[] logitsImprint = imprint.logits().data().clone();
        double lossImprint = imprint.loss(targets);
        Parameters gradImprint = new Parameters(params.layout());
        imprint.backward(targets, null, gradImprint);

        Parameters gradTorch = new Parameters(params.layout());
        float[] logitsTorch;
        double lossTorch;
        try (TorchGpt2 torch = new TorchGpt2(params)) {
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
            for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                diff = Math.max(diff, Math.abs(gradImprint.data()[i] - gradTorch.data()[i]));
                ref = Math.max(ref, Math.abs(gradTorch.data()[i]));
            }
            double rel = ref == 0 ? diff : diff / ref;
            worst = Math.max(worst, rel);
            System.out.printf("  %-24s max|torch| %.3e  max|diff| %.3e  relative %.3e%n", e.name(), ref, diff, rel);
            if (!(rel <= TOLERANCE) || ref == 0) failures.add(e.name() + " " + rel + (ref == 0 ? " (zero reference gradient)" : ""));
        }
        System.out.printf("worst gradient relative error %.3e%n", worst);
        assertTrue(failures.isEmpty(), "seed " + seed + ": gradients differ beyond " + TOLERANCE + ": " + failures);
    }
}
