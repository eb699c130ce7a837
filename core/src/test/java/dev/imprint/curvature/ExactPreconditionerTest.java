package dev.imprint.curvature;

import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Woodbury solve of the exact sample GNH (method §7.2) against the explicit matrix:
 * G = (1/N) JᵀJ formed, G + λI solved by Gaussian elimination with partial pivoting in float64.
 */
class ExactPreconditionerTest {
    static final long SEED = 20261204L;

    @Test
    void woodburyEqualsTheExplicitDampedInverseWithFewerAndMoreSequencesThanDimensions() {
        Random r = new Random(SEED);
        int rows = 3, cols = 5, d = rows * cols;
        for (int n : new int[] {1, 7, 15, 40}) {
            double[] j = new double[n * d];
            for (int i = 0; i < j.length; i++) j[i] = r.nextGaussian() * (1 + i % 4);
            ExactPreconditioner p = ExactPreconditioner.of(rows, cols, j.clone(), n, new Damping.Relative(0.1), "layer");
            double[][] g = new double[d][d];
            double trace = 0;
            for (int z = 0; z < n; z++)
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++) g[a][b] += j[z * d + a] * j[z * d + b] / n;
            for (int a = 0; a < d; a++) trace += g[a][a];
            assertEquals(0.1 * trace / d, p.lambda(), 1e-12 * trace, "λ = f · tr(G)/D, N = " + n);
            for (int a = 0; a < d; a++) g[a][a] += p.lambda();
            double[] v = new double[d];
            for (int i = 0; i < d; i++) v[i] = r.nextGaussian();
            double[] expected = solve(g, v), actual = p.precondition(v);
            for (int i = 0; i < d; i++) assertEquals(expected[i], actual[i], 1e-9 * (1 + Math.abs(expected[i])), "N = " + n + ", entry " + i);
            // the float path and the quadratic form agree with the float64 one
            Mat m = Mat.zeros(rows, cols);
            for (int i = 0; i < d; i++) m.data()[i] = (float) v[i];
            double[] vf = new double[d];
            for (int i = 0; i < d; i++) vf[i] = m.data()[i];
            double[] pf = p.precondition(vf);
            Mat out = p.precondition(m);
            double quad = 0;
            for (int i = 0; i < d; i++) {
                assertEquals(pf[i], out.data()[i], 1e-6 * (1 + Math.abs(pf[i])));
                quad += vf[i] * pf[i];
            }
            assertEquals(quad, p.quadraticForm(m), 1e-9 * Math.abs(quad));
        }
    }

    @Test
    void anExplicitDampingIsUsedAsGiven() {
        double[] j = {1, 2, 3, 4, 5, 6};
        ExactPreconditioner p = ExactPreconditioner.of(1, 3, j, 2, new Damping.Absolute(0.25), "layer");
        assertEquals(0.25, p.lambda());
    }

    /** x = A⁻¹ b by Gaussian elimination with partial pivoting. */
    static double[] solve(double[][] a0, double[] b0) {
        int n = b0.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) a[i] = a0[i].clone();
        double[] b = b0.clone();
        for (int c = 0; c < n; c++) {
            int piv = c;
            for (int i = c + 1; i < n; i++) if (Math.abs(a[i][c]) > Math.abs(a[piv][c])) piv = i;
            double[] t = a[c]; a[c] = a[piv]; a[piv] = t;
            double tb = b[c]; b[c] = b[piv]; b[piv] = tb;
            for (int i = c + 1; i < n; i++) {
                double f = a[i][c] / a[c][c];
                for (int k = c; k < n; k++) a[i][k] -= f * a[c][k];
                b[i] -= f * b[c];
            }
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= a[i][k] * x[k];
            x[i] = s / a[i][i];
        }
        return x;
    }
}
