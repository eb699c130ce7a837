package dev.imprint.model;

/**
 * A linear layer whose per-token inputs and output gradients are handed to {@link GradientTap}s
 * (method §2). In the paper's notation the layer computes s = W̄ ā with ā = (a, 1): W̄ is
 * P × (M+1) where M = {@code inFeatures}, P = {@code outFeatures}; without a bias there is no
 * homogeneous coordinate.
 *
 * @param index       position among the model's tracked layers (0-based, forward order)
 * @param name        Hugging Face module name, e.g. {@code h.3.mlp.c_fc}
 * @param inFeatures  M
 * @param outFeatures P
 * @param bias        whether ā carries the homogeneous coordinate
 */
public record TrackedLayer(int index, String name, int inFeatures, int outFeatures, boolean bias) {
    public TrackedLayer {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new IllegalArgumentException("layer " + name + " has shape " + outFeatures + "x" + inFeatures);
    }

    /** Width of ā: M+1 with a bias, M without. */
    public int activationDim() {
        return inFeatures + (bias ? 1 : 0);
    }
}
