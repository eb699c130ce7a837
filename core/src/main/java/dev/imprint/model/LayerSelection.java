package dev.imprint.model;

/** Which linear layers are tracked by taps (method §2). Embeddings, norms and the unembedding never are. */
public enum LayerSelection {
    /** Every MLP matrix of every block (c_fc and c_proj; gate, up and down for SwiGLU): the paper's default. */
    MLP,
    /** Every linear layer of every block: the attention projections too. */
    ALL_LINEAR
}
