package dev.imprint.curvature;

/**
 * A per-sequence second moment of a layer's gradient, before normalization: the float64 sum
 * Σ_b G_b∘² over {@code sequences} fitting sequences. For EK-FAC G_b = Q_Sᵀ DW̄_b Q_A (Eq. 20, the
 * corrected eigenvalues Λ); for the diagonal strategy G_b = DW̄_b (Λ_diag). Stored as a sum with
 * its count, as Kronfluence's {@code lambda_matrix} / {@code num_lambda_processed}.
 *
 * @param rows      P
 * @param cols      A
 * @param sum       (P, A) row-major Σ_b G_b∘²
 * @param sequences number of sequences summed
 */
public record LambdaMatrix(int rows, int cols, double[] sum, long sequences) {
    public LambdaMatrix {
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("lambda matrix shape " + rows + "x" + cols);
        if (sum.length != (long) rows * cols) throw new IllegalArgumentException("lambda sum has " + sum.length + " entries, expected " + rows + "x" + cols);
        if (sequences < 0) throw new IllegalArgumentException("negative sequence count " + sequences);
    }

    /** Λ itself: the mean over sequences. */
    public double[] mean() {
        if (sequences == 0) throw new IllegalStateException("lambda matrix of zero sequences");
        double[] m = sum.clone();
        for (int i = 0; i < m.length; i++) m[i] /= sequences;
        return m;
    }
}
