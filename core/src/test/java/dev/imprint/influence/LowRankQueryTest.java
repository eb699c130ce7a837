package dev.imprint.influence;

import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The randomized truncated SVD against the best rank-k approximation. */
class LowRankQueryTest {
    static final long SEED = 41L;

    /** A (m, n) matrix with singular values 0.9^i plus a little noise: like a preconditioned gradient. */
    static Mat decaying(int m, int n, long seed) {
        Random r = new Random(seed);
        Mat p = Mat.zeros(m, n);
        for (int i = 0; i < Math.min(m, n); i++) {
            double s = Math.pow(0.9, i);
            double[] u = unit(m, r), v = unit(n, r);
            for (int a = 0; a < m; a++) for (int b = 0; b < n; b++) p.set(a, b, (float) (p.get(a, b) + s * u[a] * v[b]));
        }
        return p;
    }

    static double[] unit(int n, Random r) {
        double[] x = new double[n];
        double norm = 0;
        for (int i = 0; i < n; i++) norm += (x[i] = r.nextGaussian()) * x[i];
        for (int i = 0; i < n; i++) x[i] /= Math.sqrt(norm);
        return x;
    }

    static double residual(Mat p, LowRankQuery.Factors f) {
        double err = 0;
        for (int i = 0; i < p.rows(); i++)
            for (int j = 0; j < p.cols(); j++) {
                double approx = 0;
                for (int c = 0; c < f.rank(); c++) approx += (double) f.u().get(i, c) * f.sigma()[c] * f.v().get(j, c);
                err += (p.get(i, j) - approx) * (p.get(i, j) - approx);
            }
        return Math.sqrt(err);
    }

    @Test
    void randomizedSvdIsAsGoodAsTheExactTruncation() {
        Mat p = decaying(400, 150, SEED);
        LowRankQuery.Factors rand = LowRankQuery.truncatedSvd(p, 32);   // 2·(32+8) < 150: randomized
        LowRankQuery.Factors exact = LowRankQuery.truncatedSvd(p, 70);  // 2·(70+8) ≥ 150: exact dgesdd
        assertEquals(32, rand.rank());
        for (int c = 0; c < 32; c++)
            assertEquals(exact.sigma()[c], rand.sigma()[c], 2e-3 * exact.sigma()[0], "seed " + SEED + ": σ_" + c);
        double best = 0; // the optimal rank-32 error: the norm of the discarded singular values
        for (int c = 32; c < 70; c++) best += (double) exact.sigma()[c] * exact.sigma()[c];
        double tail = Math.pow(0.9, 2 * 70) / (1 - 0.81); // the singular values beyond 70 (approximately)
        best = Math.sqrt(best + tail);
        double got = residual(p, rand);
        assertTrue(got <= 1.02 * best, "rank-32 residual " + got + " vs optimal " + best);
        for (int c = 0; c < 32; c++) { // columns of U and V are unit vectors
            double nu = 0, nv = 0;
            for (int i = 0; i < 400; i++) nu += rand.u().get(i, c) * rand.u().get(i, c);
            for (int j = 0; j < 150; j++) nv += rand.v().get(j, c) * rand.v().get(j, c);
            assertEquals(1, nu, 1e-4);
            assertEquals(1, nv, 1e-4);
        }
    }
}
