package dev.imprint.model;

import dev.imprint.tensor.Rope;

/**
 * A decoder-only transformer, described by what differs between the families Imprint runs
 * (method §2, "The model families"): the norm, the positions, the attention, the MLP, the residual
 * wiring and the head. One {@link Transformer} computes every combination; a family is a way of
 * reading and writing this description and naming its tensors ({@link Family}).
 * Dimensions: L layers, C channels, V vocabulary, Tmax positions.
 *
 * @param family           whose Hugging Face names and config.json this is
 * @param layers           L
 * @param hidden           C
 * @param vocabSize        V
 * @param contextLength    Tmax: the longest sequence the model takes
 * @param norm             every norm of the model (two per block and the final one)
 * @param attention        the self-attention of every block
 * @param positions        learned position embeddings or rotary positions
 * @param mlp              the feed-forward of every block
 * @param parallelResidual GPT-NeoX's x + attn(ln1 x) + mlp(ln2 x) instead of two sequential residual steps
 * @param tiedHead         whether the unembedding is the token embedding (else its own {@code lm_head})
 * @param bosTokenId       beginning-of-sequence id, in [0, V)
 * @param eosTokenId       end-of-sequence id, in [0, V)
 */
public record ModelConfig(Family family, int layers, int hidden, int vocabSize, int contextLength, Norm norm,
                          AttentionSpec attention, Positions positions, MlpSpec mlp, boolean parallelResidual,
                          boolean tiedHead, int bosTokenId, int eosTokenId) {

    public ModelConfig {
        if (family == null || norm == null || attention == null || positions == null || mlp == null)
            throw new IllegalArgumentException("family, norm, attention, positions and mlp are required");
        positive("layers", layers);
        positive("hidden size", hidden);
        positive("vocabulary size", vocabSize);
        positive("context length", contextLength);
        if (attention.heads() * attention.headDim() != hidden && positions instanceof Positions.Learned)
            throw new IllegalArgumentException("learned positions need heads · head_dim = hidden size, got "
                    + attention.heads() + " · " + attention.headDim() + " ≠ " + hidden);
        if (positions instanceof Positions.Rotary r && r.rotaryDims() > attention.headDim())
            throw new IllegalArgumentException("rotary dimensions " + r.rotaryDims() + " exceed head_dim " + attention.headDim());
        tokenId("bos_token_id", bosTokenId, vocabSize);
        tokenId("eos_token_id", eosTokenId, vocabSize);
    }

    private static void positive(String field, long value) {
        if (value <= 0) throw new IllegalArgumentException(field + " must be positive, got " + value);
    }

    private static void tokenId(String field, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) throw new IllegalArgumentException(field + " " + id + " is outside [0, " + vocabSize + ")");
    }

    /** LayerNorm (with or without bias) or RMSNorm, with ε added to the variance or the mean square. */
    public record Norm(Kind kind, boolean bias, double eps) {
        public enum Kind { LAYER_NORM, RMS_NORM }

        public Norm {
            if (kind == null) throw new IllegalArgumentException("norm kind is required");
            if (kind == Kind.RMS_NORM && bias) throw new IllegalArgumentException("RMSNorm has no bias");
            if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("norm epsilon must be positive and finite, got " + eps);
        }

        public static Norm layerNorm(double eps) {
            return new Norm(Kind.LAYER_NORM, true, eps);
        }

        public static Norm rms(double eps) {
            return new Norm(Kind.RMS_NORM, false, eps);
        }
    }

    /**
     * Causal self-attention with H query heads sharing KV key/value heads (grouped-query attention
     * when KV &lt; H, multi-query when KV = 1), each of width D.
     *
     * @param heads    H
     * @param kvHeads  KV, dividing H
     * @param headDim  D
     * @param qkvBias  whether the q, k and v projections have biases
     * @param outBias  whether the output projection has a bias
     * @param fusion   how q, k and v are stored (one fused matrix or three)
     */
    public record AttentionSpec(int heads, int kvHeads, int headDim, boolean qkvBias, boolean outBias, QkvFusion fusion) {
        public AttentionSpec {
            positive("attention heads", heads);
            positive("key/value heads", kvHeads);
            positive("head_dim", headDim);
            if (heads % kvHeads != 0) throw new IllegalArgumentException("num_key_value_heads " + kvHeads + " does not divide num_attention_heads " + heads);
            if (fusion == null) throw new IllegalArgumentException("q/k/v fusion is required");
            if (fusion != QkvFusion.SEPARATE && kvHeads != heads)
                throw new IllegalArgumentException("a fused q/k/v matrix needs as many key/value heads as heads");
        }

        /** H·D: the width of the queries and of the attention output. */
        public int queryWidth() {
            return heads * headDim;
        }

        /** KV·D: the width of the keys and of the values. */
        public int kvWidth() {
            return kvHeads * headDim;
        }

        /** Where each head's q, k and v live in the (BT, H·D + 2·KV·D) projection buffer. */
        public dev.imprint.tensor.Attention.Layout layout() {
            return new dev.imprint.tensor.Attention.Layout(heads, kvHeads, headDim, fusion == QkvFusion.FUSED_PER_HEAD);
        }
    }

    /** How the q, k and v projections are stored. */
    public enum QkvFusion {
        /** One (3C, C) matrix, all queries, then all keys, then all values (GPT-2's c_attn). */
        FUSED_BLOCKS,
        /** One (3C, C) matrix, per head its q, k, v in turn (GPT-NeoX's query_key_value). */
        FUSED_PER_HEAD,
        /** Three matrices q_proj, k_proj, v_proj (Llama, Qwen2, Mistral). */
        SEPARATE
    }

    /** Learned absolute position embeddings, or rotary positions applied to q and k. */
    public sealed interface Positions {
        record Learned() implements Positions {}

        /**
         * @param theta      the rotary base ({@code rope_theta})
         * @param rotaryDims R: how many leading dimensions of each head rotate (GPT-NeoX's rotary_pct · D)
         * @param scaling    Llama-3 frequency scaling, or none
         */
        record Rotary(double theta, int rotaryDims, Rope.Scaling scaling) implements Positions {
            public Rotary {
                if (!(theta > 0) || Double.isInfinite(theta)) throw new IllegalArgumentException("rope_theta must be positive, got " + theta);
                if (rotaryDims <= 0 || rotaryDims % 2 != 0) throw new IllegalArgumentException("rotary dimensions must be positive and even, got " + rotaryDims);
                if (scaling == null) throw new IllegalArgumentException("rope scaling is required (Rope.Scaling.none() for none)");
            }
        }
    }

    /** The feed-forward: GELU (tanh or exact) between two matrices, or SwiGLU's gate, up and down. */
    public record MlpSpec(Kind kind, int width, boolean bias) {
        public enum Kind { GELU_TANH, GELU_EXACT, SWIGLU }

        public MlpSpec {
            if (kind == null) throw new IllegalArgumentException("MLP kind is required");
            positive("intermediate size", width);
        }
    }

    /** EleutherAI/pythia-160m: partial rotary (16 of 64 dims), parallel residual, exact GELU, untied head. */
    public static ModelConfig pythia160m() {
        return neox(12, 768, 12, 50304, 2048);
    }

    /** Qwen/Qwen2-0.5B: 14 heads sharing 2 key/value heads, q/k/v biases, SwiGLU, tied head. */
    public static ModelConfig qwen2HalfB() {
        return new ModelConfig(Family.QWEN2, 24, 896, 151936, 32768, Norm.rms(1e-6), new AttentionSpec(14, 2, 64, true, false, QkvFusion.SEPARATE),
                new Positions.Rotary(1e6, 64, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, 4864, false), false, true, 151643, 151643);
    }

    /** meta-llama/Llama-3.2-1B: 32 heads sharing 8 key/value heads, Llama-3 rope scaling, SwiGLU, tied head. */
    public static ModelConfig llama32OneB() {
        return new ModelConfig(Family.LLAMA, 16, 2048, 128256, 131072, Norm.rms(1e-5), new AttentionSpec(32, 8, 64, false, false, QkvFusion.SEPARATE),
                new Positions.Rotary(500000, 64, Rope.Scaling.llama3(32, 1, 4, 8192)), new MlpSpec(MlpSpec.Kind.SWIGLU, 8192, false),
                false, true, 128000, 128001);
    }

    /** The published shapes by name: gpt2-small, pythia-160m, qwen2-0.5b, llama-3.2-1b. */
    public static ModelConfig named(String shape) {
        return switch (shape) {
            case "gpt2-small" -> gpt2Small();
            case "pythia-160m" -> pythia160m();
            case "qwen2-0.5b" -> qwen2HalfB();
            case "llama-3.2-1b" -> llama32OneB();
            default -> throw new IllegalArgumentException("unknown shape '" + shape + "' (expected gpt2-small, pythia-160m, qwen2-0.5b or llama-3.2-1b)");
        };
    }

    /** GPT-2 small (124M): 12 layers, C = 768, 12 heads, GPT-2's vocabulary and 1024 positions. */
    public static ModelConfig gpt2Small() {
        return gpt2(12, 768, 12, 50257, 1024);
    }

    /**
     * A GPT-2 with GPT-2's defaults: LayerNorm ε = 1e-5, learned positions, fused q/k/v with biases,
     * a tanh-GELU MLP of width 4C, a tied head, the last id as both bos and eos.
     */
    public static ModelConfig gpt2(int layers, int dim, int heads, int vocab, int positions) {
        if (heads <= 0 || dim % heads != 0) throw new IllegalArgumentException("dim " + dim + " is not divisible by " + heads + " heads");
        return new ModelConfig(Family.GPT2, layers, dim, vocab, positions, Norm.layerNorm(1e-5),
                new AttentionSpec(heads, heads, dim / heads, true, true, QkvFusion.FUSED_BLOCKS), new Positions.Learned(),
                new MlpSpec(MlpSpec.Kind.GELU_TANH, 4 * dim, true), false, true, vocab - 1, vocab - 1);
    }

    /**
     * A Llama-style decoder (as Llama 3.2, SmolLM): RMSNorm ε = 1e-5, rotary positions with θ = 10⁴ on
     * whole heads, grouped-query attention without biases, a SwiGLU MLP of width {@code mlpWidth},
     * a tied head, the last id as both bos and eos.
     */
    public static ModelConfig llama(int layers, int dim, int heads, int kvHeads, int mlpWidth, int vocab, int positions) {
        if (heads <= 0 || dim % heads != 0) throw new IllegalArgumentException("dim " + dim + " is not divisible by " + heads + " heads");
        return new ModelConfig(Family.LLAMA, layers, dim, vocab, positions, Norm.rms(1e-5),
                new AttentionSpec(heads, kvHeads, dim / heads, false, false, QkvFusion.SEPARATE),
                new Positions.Rotary(10000, dim / heads, Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.SWIGLU, mlpWidth, false),
                false, true, vocab - 1, vocab - 1);
    }

    /**
     * A GPT-NeoX as Pythia: LayerNorm ε = 1e-5, rotary positions on a quarter of each head (θ = 10⁴),
     * fused per-head q/k/v with biases, an exact-GELU MLP of width 4C, the parallel residual and an
     * untied head, the last id as both bos and eos.
     */
    public static ModelConfig neox(int layers, int dim, int heads, int vocab, int positions) {
        if (heads <= 0 || dim % heads != 0) throw new IllegalArgumentException("dim " + dim + " is not divisible by " + heads + " heads");
        int D = dim / heads;
        return new ModelConfig(Family.GPT_NEOX, layers, dim, vocab, positions, Norm.layerNorm(1e-5),
                new AttentionSpec(heads, heads, D, true, true, QkvFusion.FUSED_PER_HEAD),
                new Positions.Rotary(10000, Math.max(2, D / 4 / 2 * 2), Rope.Scaling.none()), new MlpSpec(MlpSpec.Kind.GELU_EXACT, 4 * dim, true),
                true, false, vocab - 1, vocab - 1);
    }

    /** D: the width of one attention head. */
    public int headDim() {
        return attention.headDim();
    }

    /** The layout of every weight tensor, generated from this description. */
    public ParameterLayout layout() {
        return new ParameterLayout(this);
    }

    /** Number of parameters (the tied unembedding counted once). */
    public long parameterCount() {
        return layout().parameterCount();
    }
}
