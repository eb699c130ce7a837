package dev.imprint.curvature;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * LiSSA (method §7.4) against the explicit damped inverse: with the whole sample as its minibatch
 * the recursion is Richardson's iteration and converges to (G + λI)⁻¹ v; with minibatches of two
 * its default step keeps every step a contraction, and it lands near the exact solution.
 */
class LissaPreconditionerTest {
    static final long SEED = 20261204L;

    @Test
    void withTheWholeSampleAsItsMinibatchItConvergesToTheExplicitInverse() {
        Random r = new Random(SEED);
        int rows = 3, cols = 5, d = rows * cols, n = 12;
        double[] j = gradients(r, n, d);
        double[][] g = gnh(j, n, d);
        LissaPreconditioner lissa = LissaPreconditioner.of(rows, cols, j, n, new Damping.Relative(1.0), new LissaPreconditioner.Settings(20_000, n, 0, 3), "layer");
        for (int a = 0; a < d; a++) g[a][a] += lissa.lambda();
        double[] v = new double[d];
        for (int i = 0; i < d; i++) v[i] = r.nextGaussian();
        double[] expected = ExactPreconditionerTest.solve(g, v), actual = lissa.precondition(v);
        for (int i = 0; i < d; i++) assertEquals(expected[i], actual[i], 1e-6 * (1 + Math.abs(expected[i])), "entry " + i);
    }

    @Test
    void smallMinibatchesNeverDivergeAndLandNearTheExactSolution() {
        Random r = new Random(SEED + 1);
        int rows = 4, cols = 4, d = rows * cols, n = 40;
        double[] j = gradients(r, n, d);
        ExactPreconditioner exact = ExactPreconditioner.of(rows, cols, j, n, new Damping.Relative(1.0), "layer");
        LissaPreconditioner lissa = LissaPreconditioner.of(rows, cols, j, n, new Damping.Relative(1.0), new LissaPreconditioner.Settings(5_000, 2, 0, 7), "layer");
        assertEquals(exact.lambda(), lissa.lambda(), 1e-12 * exact.lambda(), "the same damping rule");
        double[] v = new double[d];
        for (int i = 0; i < d; i++) v[i] = r.nextGaussian();
        double[] x = exact.precondition(v), y = lissa.precondition(v);
        double dot = 0, xx = 0, yy = 0;
        for (int i = 0; i < d; i++) {
            assertTrue(Double.isFinite(y[i]));
            dot += x[i] * y[i];
            xx += x[i] * x[i];
            yy += y[i] * y[i];
        }
        double cosine = dot / Math.sqrt(xx * yy);
        assertTrue(cosine > 0.95, "cosine with the exact solution " + cosine);
        // a step larger than the contraction bound diverges: the default is what keeps it finite
        LissaPreconditioner tooLarge = LissaPreconditioner.of(rows, cols, j, n, new Damping.Relative(1.0),
                new LissaPreconditioner.Settings(5_000, 2, LissaPreconditioner.largestSquaredNorm(j, n, d) / 50, 7), "layer");
        double[] z = tooLarge.precondition(v);
        assertFalse(java.util.Arrays.stream(z).allMatch(Double::isFinite) && java.util.Arrays.stream(z).map(Math::abs).max().orElse(0) < 1e6,
                "a step 50 times the bound should not stay bounded");
    }

    private static double[] gradients(Random r, int n, int d) {
        double[] j = new double[n * d];
        for (int i = 0; i < j.length; i++) j[i] = r.nextGaussian() * (1 + (i % d) % 3);
        return j;
    }

    private static double[][] gnh(double[] j, int n, int d) {
        double[][] g = new double[d][d];
        for (int z = 0; z < n; z++)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) g[a][b] += j[z * d + a] * j[z * d + b] / n;
        return g;
    }
}
