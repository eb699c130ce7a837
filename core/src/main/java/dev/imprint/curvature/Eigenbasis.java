package dev.imprint.curvature;

import dev.imprint.tensor.Lapack;

/**
 * The eigendecomposition of one symmetric matrix (Eq. 18): C = Q diag(λ) Qᵀ, in float64 — a dense
 * factor, or one block of a block-diagonal one ({@link FactorBasis} keeps the result).
 *
 * @param dim     n
 * @param vectors Q, (n, n) row-major with the eigenvectors as <em>columns</em>: Q[i·n + j] is
 *                component i of eigenvector j
 * @param values  λ, (n), ascending
 */
public record Eigenbasis(int dim, double[] vectors, double[] values) {
    public Eigenbasis {
        if (dim <= 0) throw new IllegalArgumentException("eigenbasis dimension " + dim);
        if (vectors.length != (long) dim * dim) throw new IllegalArgumentException("eigenvectors have " + vectors.length + " entries, expected " + dim + "²");
        if (values.length != dim) throw new IllegalArgumentException("eigenvalues have " + values.length + " entries, expected " + dim);
    }

    /**
     * Symmetrizes {@code c} ((n, n) row-major, not modified) as (C + Cᵀ)/2 — float summation leaves
     * it slightly asymmetric — and decomposes it with LAPACK dsyevd (divide and conquer).
     */
    public static Eigenbasis of(double[] c, int n) {
        if (c.length != (long) n * n) throw new IllegalArgumentException("matrix has " + c.length + " entries, expected " + n + "²");
        double[] a = new double[c.length];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[i * n + j] = 0.5 * (c[i * n + j] + c[j * n + i]);
        double[] w = new double[n];
        int info = Lapack.dsyevd(a, w, n); // a becomes Q (columns), w becomes λ
        if (info != 0) throw new IllegalStateException("dsyevd failed on a " + n + "x" + n + " matrix (info " + info + ")");
        return new Eigenbasis(n, a, w);
    }
}
