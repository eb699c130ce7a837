package dev.imprint.curvature;

/**
 * One Kronecker factor before normalization (Eq. 16): the float64 sum Σ_t x_t x_tᵀ over
 * {@code count} non-padding tokens, x being ā_t (the activation covariance A) or Ds_t (the
 * gradient covariance S), restricted to its diagonal blocks when the factor is block-diagonal.
 * Stored as a sum with its count, as Kronfluence does, so partial fits add.
 *
 * @param blocks n and the diagonal blocks kept (one: the whole matrix)
 * @param sum    the blocks of Σ_t x_t x_tᵀ, packed ({@link Blocks}); for one block, (n, n) row-major
 * @param count  number of tokens summed
 */
public record Covariance(Blocks blocks, double[] sum, long count) {
    public Covariance {
        if (sum.length != blocks.packedLength())
            throw new IllegalArgumentException("covariance sum has " + sum.length + " entries, expected " + blocks.packedLength() + " for " + blocks);
        if (count < 0) throw new IllegalArgumentException("negative token count " + count);
    }

    /** A dense (one-block) sum, (n, n) row-major. */
    public Covariance(int dim, double[] sum, long count) {
        this(Blocks.dense(dim), sum, count);
    }

    /** n. */
    public int dim() {
        return blocks.dim();
    }

    /** The covariance itself: sum / count (Eq. 16's mean over tokens), packed like the sum. */
    public double[] mean() {
        if (count == 0) throw new IllegalStateException("covariance of zero tokens");
        double[] m = sum.clone();
        for (int i = 0; i < m.length; i++) m[i] /= count;
        return m;
    }
}
