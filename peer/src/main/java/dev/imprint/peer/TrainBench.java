package dev.imprint.peer;

import dev.imprint.model.LanguageModel;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Transformer;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.train.AdamW;
import dev.imprint.train.Trainer;
import dev.imprint.train.TrainingPreset;

import java.util.Random;

/**
 * The optimizer's overhead: training steps of the demo preset (forward, backward with parameter
 * gradients, scaling and clipping, AdamW) against the same forward + backward alone, alternating
 * the two in blocks so that machine noise hits both.
 *
 * <p>Usage: {@code TrainBench [steps per block] [blocks]}
 */
public final class TrainBench {
    private TrainBench() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10, blocks = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        TrainingPreset preset = TrainingPreset.named("demo");
        ModelConfig c = preset.config();
        Parameters params = Parameters.initialize(c, 1), grads = new Parameters(params.layout());
        LanguageModel model = new Transformer(params, LayerSelection.MLP);
        AdamW opt = new AdamW(params.layout(), AdamW.Settings.defaults());
        Random rnd = new Random(3);
        int[][] seqs = new int[preset.batchSize()][preset.seqLen()];
        for (int[] s : seqs) for (int t = 0; t < s.length; t++) s[t] = rnd.nextInt(c.vocabSize());
        SequenceBatch batch = SequenceBatch.pad(seqs, preset.seqLen());
        Targets targets = Targets.nextTokens(batch);
        double plain = 0, train = 0;
        for (int blk = -1; blk < blocks; blk++) { // block −1 warms up
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                model.forward(batch);
                grads.zero();
                model.backward(targets, null, grads);
            }
            long t1 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                model.forward(batch);
                grads.zero();
                model.backward(targets, null, grads);
                Trainer.scaleAndClip(grads.tensors(), 1f / batch.realTokens(), 1f);
                opt.update(params, grads, 1e-4f);
            }
            long t2 = System.nanoTime();
            if (blk >= 0) {
                plain += (t1 - t0) / 1e9;
                train += (t2 - t1) / 1e9;
            }
        }
        long tokens = (long) blocks * steps * batch.realTokens();
        System.out.printf("demo preset (%d x %d tokens per step), %d steps: fwd+bwd %.0f tokens/s, training step %.0f tokens/s, optimizer overhead %.1f%%%n",
                preset.batchSize(), preset.seqLen(), blocks * steps, tokens / plain, tokens / train, 100 * (train / plain - 1));
    }
}
