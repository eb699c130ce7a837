package dev.imprint.influence;

import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Lapack;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * A prepared query with every layer's P_ℓ stored as a rank-k factorization
 * P_ℓ ≈ U_k diag(σ_k) V_kᵀ (method §5, query batching; the paper uses k = 32). Scoring then costs
 * O(T·k·(M+P)) per layer instead of O(T·M·P).
 *
 * @param query   the query
 * @param logProb log p(completion | prompt)
 * @param factors per tracked layer, the truncated SVD
 */
public record LowRankQuery(Query query, double logProb, List<Factors> factors) {

    /**
     * One layer's truncated SVD.
     *
     * @param u     (P, k) left singular vectors
     * @param sigma (k) singular values, descending
     * @param v     (A, k) right singular vectors
     */
    public record Factors(Mat u, float[] sigma, Mat v) {
        public int rank() {
            return sigma.length;
        }
    }

    /**
     * Rank-min(k, P, A) truncated SVD of each layer's P_ℓ: randomized (below) where k plus the
     * oversampling is well under min(P, A), else LAPACK's exact dgesdd, both in float64.
     */
    public static LowRankQuery compress(PreparedQuery q, int k) {
        if (k < 1) throw new IllegalArgumentException("rank must be at least 1, got " + k);
        List<Factors> out = new ArrayList<>();
        for (Mat p : q.preconditioned()) out.add(truncatedSvd(p, k));
        return new LowRankQuery(q.query(), q.logProb(), List.copyOf(out));
    }

    /** Oversampling and power iterations of the randomized SVD (Halko, Martinsson & Tropp 2011). */
    static final int OVERSAMPLE = 8, POWER_ITERATIONS = 2;

    static Factors truncatedSvd(Mat p, int k) {
        int m = p.rows(), n = p.cols(), r = Math.min(m, n), kk = Math.min(k, r);
        if (2 * (kk + OVERSAMPLE) >= r) return exact(toDouble(p), m, n, kk);
        // randomized: an orthonormal basis Y (m, l) of the range of (P Pᵀ)^q P Ω, then the exact SVD
        // of the small B = Yᵀ P (l, n); U = Y U_B. The products are float32 GEMMs, the QR and the
        // small SVD float64. The seed is fixed, so results are reproducible.
        int l = kk + OVERSAMPLE;
        java.util.Random rnd = new java.util.Random(0x5EEDL);
        Mat omega = Mat.zeros(n, l), y = Mat.zeros(m, l), z = Mat.zeros(n, l);
        for (int i = 0; i < omega.data().length; i++) omega.data()[i] = (float) rnd.nextGaussian();
        Gemm.mul(y, p, omega, false);                    // P Ω
        for (int it = 0; it < POWER_ITERATIONS; it++) {
            orthonormalize(y);
            Gemm.mulTransA(z, p, y, false);              // Pᵀ Y
            orthonormalize(z);
            Gemm.mul(y, p, z, false);                    // P Z
        }
        orthonormalize(y);
        Mat b = Mat.zeros(l, n);
        Gemm.mulTransA(b, y, p, false);                  // Yᵀ P
        double[] bd = toDouble(b), s = new double[l], ub = new double[l * l], vt = new double[l * n];
        check(Lapack.dgesdd(bd, l, n, s, ub, vt), l, n);
        Mat ubk = Mat.zeros(l, kk), U = Mat.zeros(m, kk), V = Mat.zeros(n, kk);
        float[] sigma = new float[kk];
        for (int c = 0; c < kk; c++) {
            sigma[c] = (float) s[c];
            for (int t = 0; t < l; t++) ubk.set(t, c, (float) ub[t * l + c]);
            for (int j = 0; j < n; j++) V.set(j, c, (float) vt[c * n + j]);
        }
        Gemm.mul(U, y, ubk, false);                      // U = Y U_B
        return new Factors(U, sigma, V);
    }

    /** LAPACK dgesdd on the whole matrix, truncated to rank kk. */
    private static Factors exact(double[] a, int m, int n, int kk) {
        int r = Math.min(m, n);
        double[] s = new double[r], u = new double[m * r], vt = new double[r * n];
        check(Lapack.dgesdd(a, m, n, s, u, vt), m, n);
        Mat U = Mat.zeros(m, kk), V = Mat.zeros(n, kk);
        float[] sigma = new float[kk];
        for (int c = 0; c < kk; c++) {
            sigma[c] = (float) s[c];
            for (int i = 0; i < m; i++) U.set(i, c, (float) u[i * r + c]);
            for (int j = 0; j < n; j++) V.set(j, c, (float) vt[c * n + j]);
        }
        return new Factors(U, sigma, V);
    }

    private static double[] toDouble(Mat p) {
        int m = p.rows(), n = p.cols();
        double[] a = new double[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) a[i * n + j] = p.get(i, j);
        return a;
    }

    /** Replaces the columns of x by an orthonormal basis of their span (float64 QR). */
    private static void orthonormalize(Mat x) {
        double[] a = toDouble(x);
        int info = Lapack.orthonormalize(a, x.rows(), x.cols());
        if (info != 0) throw new IllegalStateException("QR failed on a " + x.rows() + "x" + x.cols() + " matrix (info " + info + ")");
        for (int i = 0; i < a.length; i++) x.data()[i] = (float) a[i];
    }

    private static void check(int info, int m, int n) {
        if (info != 0) throw new IllegalStateException("dgesdd failed on a " + m + "x" + n + " matrix (info " + info + ")");
    }

    /** Memory of the factors in bytes (float32): what the benchmarks report. */
    public long bytes() {
        long b = 0;
        for (Factors f : factors) b += 4L * ((long) f.u().rows() * f.rank() + (long) f.v().rows() * f.rank() + f.rank());
        return b;
    }
}
