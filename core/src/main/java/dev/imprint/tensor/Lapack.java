package dev.imprint.tensor;

import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * OpenBLAS's LAPACK (org.bytedeco:openblas) in float64, row-major, with its thread count set once
 * to the shared pool's. Measured (EigenBench, dsyevd 3072², 2-core machine shared with other jobs):
 * 2 threads 3.1 s when the cores are free but 8–18 s when another process keeps one busy (the BLAS2
 * half of the tridiagonal reduction synchronizes threads per column); 1 thread a steady 4.1–6.0 s.
 * Run with {@code -Dimprint.threads=1} on a contended machine.
 */
public final class Lapack {
    static {
        openblas_nolapack.blas_set_num_threads(Parallel.threads());
    }

    private Lapack() {}

    /**
     * Symmetric eigendecomposition by divide and conquer: {@code a} (n, n) becomes the eigenvectors
     * (as columns), {@code w} (n) the eigenvalues, ascending. Returns LAPACK's info (0 = success).
     */
    public static int dsyevd(double[] a, double[] w, int n) {
        return openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, a, n, w);
    }

    /**
     * Thin SVD by divide and conquer: a (m, n) = u (m, r) · diag(s) (r) · vt (r, n), r = min(m, n),
     * singular values descending; {@code a} is destroyed. Returns LAPACK's info (0 = success).
     */
    public static int dgesdd(double[] a, int m, int n, double[] s, double[] u, double[] vt) {
        int r = Math.min(m, n);
        return openblas.LAPACKE_dgesdd(openblas.LAPACK_ROW_MAJOR, (byte) 'S', m, n, a, n, s, u, r, vt, n);
    }

    /**
     * Replaces the columns of {@code a} (m, n), m ≥ n, by an orthonormal basis of their span
     * (Householder QR: dgeqrf, then dorgqr forms Q). Returns LAPACK's info (0 = success).
     */
    public static int orthonormalize(double[] a, int m, int n) {
        double[] tau = new double[n];
        int info = openblas.LAPACKE_dgeqrf(openblas.LAPACK_ROW_MAJOR, m, n, a, n, tau);
        return info != 0 ? info : openblas.LAPACKE_dorgqr(openblas.LAPACK_ROW_MAJOR, m, n, n, a, n, tau);
    }

    /** C (n, n) ← A Aᵀ for A (n, k) row-major, in its lower triangle (BLAS dsyrk); the upper triangle is left as it was. */
    public static void gramLower(double[] a, int n, int k, double[] c) {
        openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasLower, openblas.CblasNoTrans, n, k, 1.0, a, k, 0.0, c, n);
    }

    /** Cholesky factorization of a symmetric positive definite (n, n), lower triangle, in place. Returns LAPACK's info (0 = success). */
    public static int dpotrf(double[] a, int n) {
        return openblas.LAPACKE_dpotrf(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, a, n);
    }

    /** Solves A x = b with {@link #dpotrf}'s factor of A; b (n, nrhs) becomes x. Returns LAPACK's info (0 = success). */
    public static int dpotrs(double[] factor, int n, double[] b, int nrhs) {
        return openblas.LAPACKE_dpotrs(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, nrhs, factor, n, b, nrhs);
    }
}
