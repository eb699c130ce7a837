package dev.imprint.model;

import dev.imprint.tensor.Mat;

/**
 * A listener on the backward pass (method §2): for every tracked linear layer it receives, for every
 * token of the batch, the layer input with the homogeneous coordinate ā_t and the gradient of the
 * summed loss with respect to the layer output Ds_t. The layer's weight gradient of sequence b is
 * DW̄ = Σ_t Ds_t ā_tᵀ over that sequence's rows (Eq. 26). Covariance fitting, eigenvalue
 * correction and influence scoring are all taps.
 *
 * <p>Both matrices have B·T rows (row b·T + t is position t of sequence b). Rows at padding
 * positions are all zero in both. The arrays are reused by the model: read them during the call,
 * never keep a reference. Calls arrive on the thread that runs backward, last layer first.
 */
@FunctionalInterface
public interface GradientTap {
    /**
     * @param layer           the tracked layer
     * @param batch           the batch being differentiated (shape and valid lengths)
     * @param activations     ā, (B·T, M+1) — or (B·T, M) for a layer without bias
     * @param outputGradients Ds, (B·T, P)
     */
    void onLayer(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients);
}
