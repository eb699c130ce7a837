package dev.imprint.influence;

import dev.imprint.curvature.CovarianceTap;
import dev.imprint.curvature.Covariances;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.Transformer;
import dev.imprint.model.Parameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Sampled labels (method §3) depend on (seed, sequence, position) only: a sequence draws the same
 * labels alone or in a padded batch, so fitted covariances do not depend on the batch size.
 */
class SampledLabelsTest {
    static final long SEED = 20261202L;

    @Test
    void aSequenceDrawsTheSameLabelsAloneAndInAPaddedBatch() {
        ModelConfig c = ModelConfig.llama(2, 16, 4, 2, 48, 53, 32);
        LanguageModel model = new Transformer(Parameters.initialize(c, SEED), LayerSelection.MLP);
        int[][] seqs = sequences(3, c.vocabSize());
        model.forward(SequenceBatch.pad(seqs, 0));
        Targets batched = model.sampleTargets(7, new long[] {10, 11, 12});
        int T = SequenceBatch.pad(seqs, 0).seqLen();
        for (int b = 0; b < seqs.length; b++) {
            model.forward(SequenceBatch.of(seqs[b]));
            Targets alone = model.sampleTargets(7, new long[] {10 + b});
            int[] expected = java.util.Arrays.copyOfRange(batched.tokens(), b * T, b * T + seqs[b].length);
            assertArrayEquals(expected, alone.tokens(), "seed " + SEED + ": sequence " + b);
        }
        model.forward(SequenceBatch.of(seqs[0]));
        assertNotEquals(List.of(model.sampleTargets(8, new long[] {10}).tokens()), List.of(batched.tokens()), "another seed draws other labels");
    }

    @Test
    void sampledLabelsWeighExactlyThePositionsOfTheTrainingLoss() {
        ModelConfig c = ModelConfig.gpt2(2, 16, 2, 53, 32);
        LanguageModel model = new Transformer(Parameters.initialize(c, SEED + 2), LayerSelection.MLP);
        int[][] seqs = sequences(4, c.vocabSize());
        SequenceBatch batch = SequenceBatch.pad(seqs, 0);
        model.forward(batch);
        Targets sampled = model.sampleTargets(5, new long[] {0, 1, 2, 3}), truth = Targets.nextTokens(batch);
        assertArrayEquals(truth.weights(), sampled.weights(), "sampled and true labels weigh the same positions");
        int T = batch.seqLen();
        for (int b = 0; b < seqs.length; b++) assertEquals(0f, sampled.weights()[b * T + seqs[b].length - 1], "the last token of sequence " + b);
        // so the backward's Ds at each sequence's last token is zero, as with the true labels: S sums no term there
        float[] maxAtLast = new float[1];
        model.backward(sampled, (layer, rows, abar, ds) -> {
            for (int b = 0; b < seqs.length; b++)
                for (int j = 0; j < ds.cols(); j++) maxAtLast[0] = Math.max(maxAtLast[0], Math.abs(ds.get(b * T + seqs[b].length - 1, j)));
        });
        assertEquals(0f, maxAtLast[0]);
    }

    @Test
    void covariancesDoNotDependOnTheBatchSize() {
        ModelConfig c = ModelConfig.neox(2, 16, 2, 53, 32);
        LanguageModel model = new Transformer(Parameters.initialize(c, SEED + 1), LayerSelection.MLP);
        int[][] seqs = sequences(7, c.vocabSize());
        List<Covariances> one = fit(model, seqs, 1), five = fit(model, seqs, 5);
        for (int l = 0; l < one.size(); l++) {
            assertEquals(one.get(l).gradient().count(), five.get(l).gradient().count());
            double[] a = one.get(l).gradient().sum(), b = five.get(l).gradient().sum();
            double max = 0;
            for (double v : a) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < a.length; i++)
                assertEquals(a[i], b[i], 1e-5 * max, "seed " + SEED + ": S of layer " + l + " entry " + i);
        }
    }

    private static List<Covariances> fit(LanguageModel model, int[][] seqs, int batchSize) {
        CovarianceTap tap = new CovarianceTap(model.trackedLayers());
        new FittingPass(model, FidelityTest.source(seqs), IntStream.range(0, seqs.length).toArray(), batchSize, 3, FittingPass.Labels.SAMPLED).run(tap);
        return tap.covariances();
    }

    private static int[][] sequences(int n, int vocab) {
        Random r = new Random(SEED);
        int[][] seqs = new int[n][];
        for (int i = 0; i < n; i++) {
            seqs[i] = new int[5 + r.nextInt(20)];
            for (int t = 0; t < seqs[i].length; t++) seqs[i][t] = r.nextInt(vocab);
        }
        return seqs;
    }
}
