package dev.imprint.curvature;

/**
 * One Kronecker factor before normalization (Eq. 16): the float64 sum Σ_t x_t x_tᵀ over
 * {@code count} non-padding tokens, x being ā_t (the activation covariance A) or Ds_t (the
 * gradient covariance S). Stored as a sum with its count, as Kronfluence does, so partial fits add.
 *
 * @param dim   n: A (for A) or P (for S)
 * @param sum   (n, n) row-major Σ_t x_t x_tᵀ
 * @param count number of tokens summed
 */
public record Covariance(int dim, double[] sum, long count) {
    public Covariance {
        if (dim <= 0) throw new IllegalArgumentException("covariance dimension " + dim);
        if (sum.length != (long) dim * dim) throw new IllegalArgumentException("covariance sum has " + sum.length + " entries, expected " + dim + "²");
        if (count < 0) throw new IllegalArgumentException("negative token count " + count);
    }

    /** The covariance itself: sum / count (Eq. 16's mean over tokens). */
    public double[] mean() {
        if (count == 0) throw new IllegalStateException("covariance of zero tokens");
        double[] m = sum.clone();
        for (int i = 0; i < m.length; i++) m[i] /= count;
        return m;
    }
}
