package dev.imprint.influence;

import dev.imprint.tensor.Lapack;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * A prepared query with every layer's P_ℓ stored as a rank-k factorization
 * P_ℓ ≈ U_k diag(σ_k) V_kᵀ (SPEC §5, query batching; the paper uses k = 32). Scoring then costs
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

    /** Truncated SVD (LAPACK dgesdd, float64) of each layer's P_ℓ to rank min(k, P, A). */
    public static LowRankQuery compress(PreparedQuery q, int k) {
        if (k < 1) throw new IllegalArgumentException("rank must be at least 1, got " + k);
        List<Factors> out = new ArrayList<>();
        for (Mat p : q.preconditioned()) out.add(truncatedSvd(p, k));
        return new LowRankQuery(q.query(), q.logProb(), List.copyOf(out));
    }

    static Factors truncatedSvd(Mat p, int k) {
        int m = p.rows(), n = p.cols(), r = Math.min(m, n), kk = Math.min(k, r);
        double[] a = new double[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) a[i * n + j] = p.get(i, j);
        double[] s = new double[r], u = new double[m * r], vt = new double[r * n];
        int info = Lapack.dgesdd(a, m, n, s, u, vt);
        if (info != 0) throw new IllegalStateException("dgesdd failed on a " + m + "x" + n + " matrix (info " + info + ")");
        Mat U = Mat.zeros(m, kk), V = Mat.zeros(n, kk);
        float[] sigma = new float[kk];
        for (int c = 0; c < kk; c++) {
            sigma[c] = (float) s[c];
            for (int i = 0; i < m; i++) U.set(i, c, (float) u[i * r + c]);
            for (int j = 0; j < n; j++) V.set(j, c, (float) vt[c * n + j]);
        }
        return new Factors(U, sigma, V);
    }

    /** Memory of the factors in bytes (float32). */
    public long bytes() {
        long b = 0;
        for (Factors f : factors) b += 4L * ((long) f.u().rows() * f.rank() + (long) f.v().rows() * f.rank() + f.rank());
        return b;
    }
}
