package dev.imprint.curvature;

/**
 * A layer's eigenbasis Q = Q_A ⊗ Q_S (Eq. 18): the basis in which K-FAC's G ≈ A ⊗ S is diagonal.
 * A P×A gradient V is expressed in it as Q_Sᵀ V Q_A.
 *
 * @param activation Q_A, λ_A of the activation covariance, (A, A)
 * @param gradient   Q_S, λ_S of the gradient covariance, (P, P)
 */
public record KroneckerEigenbasis(FactorBasis activation, FactorBasis gradient) {

    /** Eq. 18 for both factors of a layer. */
    public static KroneckerEigenbasis of(Covariances c) {
        return new KroneckerEigenbasis(FactorBasis.of(c.activation()), FactorBasis.of(c.gradient()));
    }

    /** K-FAC's eigenvalues λ_S λ_Aᵀ, (P, A) row-major: entry (i, j) = λ_S[i]·λ_A[j]. */
    public double[] kroneckerEigenvalues() {
        int p = gradient.dim(), a = activation.dim();
        double[] out = new double[p * a];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < a; j++) out[i * a + j] = gradient.values()[i] * activation.values()[j];
        return out;
    }

    /** Bytes of both bases in memory. */
    public long bytes() {
        return activation.bytes() + gradient.bytes();
    }
}
