package dev.imprint.curvature;

import dev.imprint.model.GradientTap;

/**
 * One pass of the model over the fitting set, supplied by the model side, so that curvature code
 * never sees the transformer: forward each batch of fitting sequences, sample a label at every
 * position from softmax(logits) (method §3: the Fisher needs sampled labels, not the true ones),
 * backpropagate the summed loss, and hand every tracked layer's ā and Ds to {@code tap}. Every
 * fitting sequence must be visited exactly once per call, and repeated calls must sample the same
 * labels (seeded by {@link FactorArguments#seed()}), so that a refitted stage matches a stored one.
 */
@FunctionalInterface
public interface TapPass {
    void run(GradientTap tap);
}
