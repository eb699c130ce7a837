package dev.imprint.model;

/**
 * The parameter tensors of GPT-2, in Hugging Face's names and layout. HF stores the attention and
 * MLP projections as Conv1D, i.e. weight (in, out) and y = x·W + b, which is also Imprint's layout.
 * Dimensions: V vocab, P positions, C channels.
 */
public enum ParameterKind {
    WTE("wte.weight", false),                 // (V, C) token embedding, tied to the unembedding
    WPE("wpe.weight", false),                 // (P, C) learned positions
    LN1_W("ln_1.weight", true),               // (C)
    LN1_B("ln_1.bias", true),                 // (C)
    QKV_W("attn.c_attn.weight", true),        // (C, 3C)
    QKV_B("attn.c_attn.bias", true),          // (3C)
    ATTN_PROJ_W("attn.c_proj.weight", true),  // (C, C)
    ATTN_PROJ_B("attn.c_proj.bias", true),    // (C)
    LN2_W("ln_2.weight", true),               // (C)
    LN2_B("ln_2.bias", true),                 // (C)
    FC_W("mlp.c_fc.weight", true),            // (C, 4C)
    FC_B("mlp.c_fc.bias", true),              // (4C)
    FC_PROJ_W("mlp.c_proj.weight", true),     // (4C, C)
    FC_PROJ_B("mlp.c_proj.bias", true),       // (C)
    LNF_W("ln_f.weight", false),              // (C)
    LNF_B("ln_f.bias", false);                // (C)

    private final String suffix;
    private final boolean perLayer;

    ParameterKind(String suffix, boolean perLayer) {
        this.suffix = suffix;
        this.perLayer = perLayer;
    }

    public boolean perLayer() {
        return perLayer;
    }

    /** The Hugging Face tensor name, e.g. {@code h.3.mlp.c_fc.weight}. */
    public String hfName(int layer) {
        return perLayer ? "h." + layer + "." + suffix : suffix;
    }

    /** Shape as (rows, cols); vectors are (1, n). */
    public int[] shape(GPT2Config c) {
        int C = c.nEmbd();
        return switch (this) {
            case WTE -> new int[] {c.vocabSize(), C};
            case WPE -> new int[] {c.nPositions(), C};
            case QKV_W -> new int[] {C, 3 * C};
            case QKV_B -> new int[] {1, 3 * C};
            case ATTN_PROJ_W -> new int[] {C, C};
            case FC_W -> new int[] {C, 4 * C};
            case FC_B -> new int[] {1, 4 * C};
            case FC_PROJ_W -> new int[] {4 * C, C};
            case LN1_W, LN1_B, ATTN_PROJ_B, LN2_W, LN2_B, FC_PROJ_B, LNF_W, LNF_B -> new int[] {1, C};
        };
    }

    /** Whether the tensor is a vector (stored with shape [n] in safetensors). */
    public boolean vector() {
        return switch (this) {
            case WTE, WPE, QKV_W, ATTN_PROJ_W, FC_W, FC_PROJ_W -> false;
            default -> true;
        };
    }
}
