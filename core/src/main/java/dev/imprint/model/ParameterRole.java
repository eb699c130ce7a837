package dev.imprint.model;

/**
 * What a parameter tensor does in the {@link Transformer}, whatever its family calls it
 * ({@link Family#tensorName} gives the Hugging Face name). Linear weights are held as
 * torch.nn.Linear holds them, (out, in), so that s = W a and a tracked layer's gradient
 * DW̄ = Σ_t Ds_t ā_tᵀ has the weight's own shape. Dimensions: V vocab, Tmax positions, C channels,
 * Q = H·D query width, K = KV·D key/value width, F MLP width.
 */
public enum ParameterRole {
    TOKEN_EMBEDDING(false, false),   // (V, C); also the unembedding when the head is tied
    POSITION_EMBEDDING(false, false),// (Tmax, C), learned positions only
    NORM1_W(true, true),             // (C) before attention
    NORM1_B(true, true),             // (C)
    QKV_W(true, false),              // (Q + 2K, C) fused q, k, v
    QKV_B(true, true),               // (Q + 2K)
    Q_W(true, false),                // (Q, C)
    Q_B(true, true),                 // (Q)
    K_W(true, false),                // (K, C)
    K_B(true, true),                 // (K)
    V_W(true, false),                // (K, C)
    V_B(true, true),                 // (K)
    O_W(true, false),                // (C, Q) attention output projection
    O_B(true, true),                 // (C)
    NORM2_W(true, true),             // (C) before the MLP
    NORM2_B(true, true),             // (C)
    GATE_W(true, false),             // (F, C) SwiGLU gate
    GATE_B(true, true),              // (F)
    UP_W(true, false),               // (F, C) GELU c_fc / SwiGLU up
    UP_B(true, true),                // (F)
    DOWN_W(true, false),             // (C, F)
    DOWN_B(true, true),              // (C)
    FINAL_NORM_W(false, true),       // (C)
    FINAL_NORM_B(false, true),       // (C)
    LM_HEAD(false, false);           // (V, C) untied unembedding

    private final boolean perLayer, vector;

    ParameterRole(boolean perLayer, boolean vector) {
        this.perLayer = perLayer;
        this.vector = vector;
    }

    /** Whether every block has its own tensor of this role. */
    public boolean perLayer() {
        return perLayer;
    }

    /** Whether the tensor is a vector (a bias or a norm gain): stored with shape [n], never weight-decayed. */
    public boolean vector() {
        return vector;
    }
}
