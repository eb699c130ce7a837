package dev.imprint.curvature;

/**
 * A layer's two K-FAC factors (Eq. 16): G ≈ A ⊗ S with A = mean ā ā ᵀ and S = mean Ds Dsᵀ over
 * the same tokens.
 *
 * @param activation A, (A, A)
 * @param gradient   S, (P, P)
 */
public record Covariances(Covariance activation, Covariance gradient) {
    public Covariances {
        if (activation.count() != gradient.count())
            throw new IllegalArgumentException("activation covariance of " + activation.count() + " tokens but gradient covariance of " + gradient.count());
    }
}
