package dev.imprint.train;

import dev.imprint.model.GPT2Config;

/**
 * Named model sizes for {@code imprint train}. Each uses a byte-level BPE vocabulary made of the
 * first {@code vocab − 1} GPT-2 tokens plus an end-of-text token, so the unembedding stays small.
 *
 * @param name      the CLI name
 * @param config    the architecture (its context is the training sequence length)
 * @param batchSize sequences per step
 * @param steps     optimizer steps
 * @param peakLr    learning rate after warm-up
 */
public record TrainingPreset(String name, GPT2Config config, int batchSize, int steps, float peakLr) {
    /** A toy model that trains in well under a minute: for trying things and for tests. */
    public static final TrainingPreset TINY = new TrainingPreset("tiny", GPT2Config.of(2, 64, 2, 512, 64), 8, 150, 3e-3f);
    /** The demo model: sized to train on the demo corpus in about ten minutes on two cores. */
    public static final TrainingPreset DEMO = new TrainingPreset("demo", GPT2Config.of(4, 256, 4, 8192, 256), 8, 800, 2e-3f);

    public static TrainingPreset named(String name) {
        return switch (name) {
            case "tiny" -> TINY;
            case "demo" -> DEMO;
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected tiny or demo)");
        };
    }

    public int seqLen() {
        return config.nPositions();
    }

    /** Settings for this preset, with the step count overridable (≤ 0 keeps the preset's). */
    public TrainingSettings settings(int stepsOverride, long seed) {
        int n = stepsOverride > 0 ? stepsOverride : steps;
        int warmup = Math.max(1, n / 20);
        return new TrainingSettings(n, batchSize, new Schedule(peakLr, peakLr / 10, warmup, n), AdamW.Settings.defaults(), 1f, seed,
                0.02, Math.max(1, n / 10), 64, Math.max(1, n / 10));
    }
}
