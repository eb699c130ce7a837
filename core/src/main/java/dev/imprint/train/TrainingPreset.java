package dev.imprint.train;

import dev.imprint.model.ModelConfig;

/**
 * Named model sizes for {@code imprint train}, each in three architectures. Each uses a byte-level
 * BPE vocabulary made of the first {@code vocab − 1} GPT-2 tokens plus an end-of-text token, so the
 * unembedding stays small.
 *
 * @param name      the CLI name
 * @param arch      the architecture
 * @param config    the model (its context is the training sequence length)
 * @param batchSize sequences per step
 * @param steps     optimizer steps
 * @param peakLr    learning rate after warm-up
 */
public record TrainingPreset(String name, Arch arch, ModelConfig config, int batchSize, int steps, float peakLr) {
    /** The architectures {@code imprint train --arch} builds. */
    public enum Arch {
        /** GPT-2: LayerNorm, learned positions, GELU, tied head. */
        GPT2,
        /** Llama-style: RMSNorm, rotary positions, grouped-query attention, SwiGLU. */
        LLAMA,
        /** GPT-NeoX (Pythia): partial rotary, parallel residual, exact GELU, untied head. */
        NEOX;

        public static Arch named(String name) {
            return switch (name) {
                case "gpt2" -> GPT2;
                case "llama" -> LLAMA;
                case "neox" -> NEOX;
                default -> throw new IllegalArgumentException("unknown architecture '" + name + "' (expected gpt2, llama or neox)");
            };
        }
    }

    /**
     * {@code tiny}: a toy model that trains in well under a minute, for trying things and for tests.
     * {@code demo}: sized to train on the demo corpus in about ten minutes on two cores. The
     * Llama-style MLP is ⅔ as wide as the GELU one (8C/3, rounded to 16), which keeps its three
     * matrices at the parameter count of two.
     */
    public static TrainingPreset named(String name, Arch arch) {
        return switch (name) {
            case "tiny" -> new TrainingPreset("tiny", arch, shape(arch, 2, 64, 2, 1, 512, 64), 8, 150, 3e-3f);
            case "demo" -> new TrainingPreset("demo", arch, shape(arch, 4, 256, 4, 2, 8192, 256), 8, 800, 2e-3f);
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (expected tiny or demo)");
        };
    }

    /** The GPT-2 preset of a name: what {@code imprint train} builds without {@code --arch}. */
    public static TrainingPreset named(String name) {
        return named(name, Arch.GPT2);
    }

    private static ModelConfig shape(Arch arch, int layers, int dim, int heads, int kvHeads, int vocab, int positions) {
        return switch (arch) {
            case GPT2 -> ModelConfig.gpt2(layers, dim, heads, vocab, positions);
            case LLAMA -> ModelConfig.llama(layers, dim, heads, kvHeads, (8 * dim / 3 + 15) / 16 * 16, vocab, positions);
            case NEOX -> ModelConfig.neox(layers, dim, heads, vocab, positions);
        };
    }

    public int seqLen() {
        return config.contextLength();
    }

    /** Settings for this preset run for {@code n} steps (the preset's own count is {@link #steps()}). */
    public TrainingSettings settings(int n, long seed) {
        if (n < 1) throw new IllegalArgumentException("steps " + n + " is below 1");
        int warmup = Math.max(1, n / 20);
        return new TrainingSettings(n, batchSize, new Schedule(peakLr, peakLr / 10, warmup, n), AdamW.Settings.defaults(), 1f, seed,
                0.02, Math.max(1, n / 10), 64, Math.max(1, n / 10));
    }
}
