package dev.imprint.model;

/** Which linear layers are tracked by taps (SPEC §2). The unembedding is never tracked. */
public enum LayerSelection {
    /** Both MLP matrices of every block (c_fc, c_proj): the paper's default. */
    MLP,
    /** Every linear layer of every block: attention c_attn and c_proj too. */
    ALL_LINEAR
}
