package dev.imprint.train;

import dev.imprint.data.SequenceSource;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.SequenceBatch;

import java.nio.file.Path;
import java.util.Random;

/** A small deterministic training job shared by the resume test and its child process. */
final class TinyTraining {
    static final ModelConfig CONFIG = ModelConfig.gpt2(2, 32, 2, 64, 32);
    static final int STEPS = 24;

    /** 64 sequences of a noisy counting pattern: learnable, so the loss falls. */
    static SequenceSource source() {
        int n = 64, T = 32;
        int[][] seqs = new int[n][];
        Random rng = new Random(5);
        for (int s = 0; s < n; s++) {
            int len = 16 + rng.nextInt(T - 15);
            seqs[s] = new int[len];
            int start = rng.nextInt(64);
            for (int t = 0; t < len; t++) seqs[s][t] = rng.nextInt(10) == 0 ? rng.nextInt(64) : (start + t) % 64;
        }
        return new SequenceSource() {
            public int size() {
                return n;
            }

            public SequenceBatch batch(int[] indices) {
                int[][] rows = new int[indices.length][];
                for (int i = 0; i < indices.length; i++) rows[i] = seqs[indices[i]];
                return SequenceBatch.pad(rows, 0);
            }
        };
    }

    static TrainingSettings settings() {
        return new TrainingSettings(STEPS, 4, new Schedule(3e-3f, 3e-4f, 4, STEPS), AdamW.Settings.defaults(), 1f, 42L,
                0.1, 6, 8, 3);
    }

    static Trainer.Result run(Path out, Trainer.Listener listener) {
        return new Trainer(CONFIG, source(), settings(), out).run(listener);
    }

    /** Child process: trains into args[0], slowly enough to be killed between checkpoints. */
    public static void main(String[] args) {
        run(Path.of(args[0]), new Trainer.Listener() {
            @Override
            public void onStep(int step, double loss, float lr, long tokens, double tps) {
                try {
                    Thread.sleep(150);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }
}
