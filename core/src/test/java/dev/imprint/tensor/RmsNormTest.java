package dev.imprint.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * {@link RmsNorm} against an independent float64 reference written here: the forward value by
 * value, the backward against central finite differences of the float64 forward. Sizes straddle
 * the vector width and the two-accumulator block; rows straddle the 32-row task chunk. Inputs are
 * seeded; a failure names its seed and shape.
 */
class RmsNormTest {
    private static final long SEED = 0x5EED_0001L;
    static final int[] COLS = {1, 3, 4, 6, 17, 64, 65, 1025, 4098};
    static final int[] ROWS = {1, 3, 33};
    private static final float EPS = 1e-5f;
    /** Unit roundoff of float. */
    static final double U = 0x1p-24;

    /**
     * Relative error allowed for a value computed from a C-term float sum of squares: the sum runs
     * in 2L lane chains of ≈ C/(2L) terms each, whose rounding errors add up like a random walk, so
     * a few u·√C bounds it with margin; the constant covers the handful of roundings around it.
     */
    static double sumTolerance(int C) {
        return U * (8 + 2 * Math.sqrt(C));
    }

    @Test
    void forwardMatchesFloat64Reference() {
        SplittableRandom seeds = new SplittableRandom(SEED);
        double worst = 0, worstRel = 0;
        for (int rows : ROWS) {
            for (int C : COLS) {
                long seed = seeds.nextLong();
                SplittableRandom rnd = new SplittableRandom(seed);
                float[] x = random(rnd, rows * C, 2), w = random(rnd, C, 1.5f);
                float[] out = new float[rows * C], rstd = new float[rows];
                RmsNorm.forward(out, rstd, x, w, rows, C, EPS);
                double tol = sumTolerance(C);
                for (int r = 0; r < rows; r++) {
                    double rs = refRstd(x, r, C, EPS);
                    double e = Math.abs(rstd[r] - rs) / rs;
                    worst = Math.max(worst, e / tol);
                    if (!(e <= tol)) fail(where(rows, C, seed) + ": rstd[" + r + "] = " + rstd[r] + ", reference " + rs);
                    for (int i = 0; i < C; i++) {
                        double y = x[r * C + i] * rs * w[i];
                        double d = Math.abs(out[r * C + i] - y);
                        worst = Math.max(worst, d / (tol * Math.abs(y) + Float.MIN_NORMAL));
                        worstRel = Math.max(worstRel, d / Math.abs(y));
                        if (!(d <= tol * Math.abs(y) + Float.MIN_NORMAL))
                            fail(where(rows, C, seed) + ": out[" + r + "," + i + "] = " + out[r * C + i] + ", reference " + y);
                    }
                }
            }
        }
        System.out.printf("RmsNorm forward: worst error %.3f of tolerance, max relative error %.2e%n", worst, worstRel);
    }

    @Test
    void forwardInPlaceMatchesOutOfPlace() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int rows = 33, C = 1025;
        float[] x = random(rnd, rows * C, 3), w = random(rnd, C, 1);
        float[] out = new float[rows * C], rstd = new float[rows], rstd2 = new float[rows];
        RmsNorm.forward(out, rstd, x, w, rows, C, EPS);
        RmsNorm.forward(x, rstd2, x, w, rows, C, EPS);
        assertArrayEquals(out, x);
        assertArrayEquals(rstd, rstd2);
    }

    /**
     * dinp and dweight, accumulated onto random starting values, against central differences of
     * L = Σ dout ∘ rmsnorm(x; w) in float64. Every coordinate for small C, a seeded sample of
     * columns for large C.
     */
    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom seeds = new SplittableRandom(SEED + 2);
        double worst = 0;
        for (int rows : ROWS) {
            for (int C : COLS) {
                long seed = seeds.nextLong();
                SplittableRandom rnd = new SplittableRandom(seed);
                float[] x = random(rnd, rows * C, 2), w = random(rnd, C, 1.5f), dout = random(rnd, rows * C, 1);
                float[] out = new float[rows * C], rstd = new float[rows];
                RmsNorm.forward(out, rstd, x, w, rows, C, EPS);
                float[] dinp0 = random(rnd, rows * C, 1), dw0 = random(rnd, C, 1);
                float[] dinp = dinp0.clone(), dw = dw0.clone();
                RmsNorm.backward(dinp, dw, dout, x, w, rstd, rows, C);

                double[] xd = toDouble(x), wd = toDouble(w), gd = toDouble(dout);
                double tol = 2 * sumTolerance(C);
                int[] cols = columns(rnd, C, 48);
                for (int r = 0; r < rows; r++) {
                    double rs = refRstd(x, r, C, EPS), meanAbs = 0;
                    for (int i = 0; i < C; i++) meanAbs += Math.abs(gd[r * C + i] * wd[i] * xd[r * C + i] * rs);
                    meanAbs /= C;
                    for (int j : cols) {
                        int k = r * C + j;
                        int row = r;
                        double fd = centralDifference(xd, k, () -> rowLoss(xd, wd, gd, row, C, EPS));
                        // the size of the terms dx is made of: rstd·(|dn_j| + |n_j|·mean|dn∘n|)
                        double scale = rs * (Math.abs(gd[k] * wd[j]) + Math.abs(xd[k] * rs) * meanAbs);
                        double allowed = tol * scale + Math.ulp(dinp0[k]) + 1e-9 * scale;
                        double d = Math.abs((dinp[k] - (double) dinp0[k]) - fd);
                        worst = Math.max(worst, d / allowed);
                        if (!(d <= allowed))
                            fail(where(rows, C, seed) + ": dinp[" + r + "," + j + "] − start = " + (dinp[k] - (double) dinp0[k])
                                    + ", finite difference " + fd + ", |diff| " + d + " > " + allowed);
                    }
                }
                for (int j : columns(rnd, C, 24)) {
                    int allRows = rows;
                    double fd = centralDifference(wd, j, () -> {
                        double l = 0;
                        for (int r = 0; r < allRows; r++) l += rowLoss(xd, wd, gd, r, C, EPS);
                        return l;
                    }), scale = 0;
                    for (int r = 0; r < rows; r++) scale += Math.abs(gd[r * C + j] * xd[r * C + j] * refRstd(x, r, C, EPS));
                    double allowed = (tol + 4 * rows * U) * scale + Math.ulp(dw0[j]) + 1e-9 * scale;
                    double d = Math.abs((dw[j] - (double) dw0[j]) - fd);
                    worst = Math.max(worst, d / allowed);
                    if (!(d <= allowed))
                        fail(where(rows, C, seed) + ": dweight[" + j + "] − start = " + (dw[j] - (double) dw0[j]) + ", finite difference " + fd);
                }
            }
        }
        System.out.printf("RmsNorm backward: worst error %.3f of tolerance%n", worst);
    }

    @Test
    void nullDweightLeavesDinpUnchanged() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        int rows = 33, C = 65;
        float[] x = random(rnd, rows * C, 2), w = random(rnd, C, 1), dout = random(rnd, rows * C, 1);
        float[] out = new float[rows * C], rstd = new float[rows];
        RmsNorm.forward(out, rstd, x, w, rows, C, EPS);
        float[] a = random(rnd, rows * C, 1), b = a.clone();
        RmsNorm.backward(a, new float[C], dout, x, w, rstd, rows, C);
        RmsNorm.backward(b, null, dout, x, w, rstd, rows, C);
        assertArrayEquals(a, b);
    }

    /**
     * A call from inside a pool worker runs serially; a top-level call of 100 rows is split into
     * four 32-row tasks across the pool. The results are bit-identical (dweight's per-task partial
     * sums are merged in task order), and so are repeated calls. Parallel's thread count is fixed per
     * JVM, so this is the in-process stand-in for "any thread count".
     */
    @Test
    void serialAndParallelRunsAreBitIdentical() {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        int rows = 100, C = 1025;
        float[] x = random(rnd, rows * C, 2), w = random(rnd, C, 1), dout = random(rnd, rows * C, 1);
        float[][] top = run(x, w, dout, rows, C), again = run(x, w, dout, rows, C);
        float[][][] nested = new float[1][][];
        inWorker(() -> nested[0] = run(x, w, dout, rows, C));
        for (int k = 0; k < top.length; k++) {
            assertArrayEquals(top[k], again[k], "repeat, output " + k);
            assertArrayEquals(top[k], nested[0][k], "nested, output " + k);
        }
    }

    private static float[][] run(float[] x, float[] w, float[] dout, int rows, int C) {
        float[] out = new float[rows * C], rstd = new float[rows], dinp = new float[rows * C], dw = new float[C];
        RmsNorm.forward(out, rstd, x, w, rows, C, EPS);
        RmsNorm.backward(dinp, dw, dout, x, w, rstd, rows, C);
        return new float[][] {out, rstd, dinp, dw};
    }

    // ---- float64 reference ---------------------------------------------------------------------

    private static double refRstd(float[] x, int r, int C, float eps) {
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double) x[r * C + i] * x[r * C + i];
        return 1 / Math.sqrt(ss / C + eps);
    }

    /** Σ_i dout[r,i]·y[r,i] of one row, y = x·rstd∘w, all in double. */
    private static double rowLoss(double[] x, double[] w, double[] dout, int r, int C, float eps) {
        double ss = 0;
        for (int i = 0; i < C; i++) ss += x[r * C + i] * x[r * C + i];
        double rs = 1 / Math.sqrt(ss / C + eps), l = 0;
        for (int i = 0; i < C; i++) l += dout[r * C + i] * x[r * C + i] * rs * w[i];
        return l;
    }

    // ---- helpers shared by the kernel tests ------------------------------------------------------

    /** Central difference of {@code f} in {@code p[k]}, step 1e-3·max(1, |p[k]|); {@code p[k]} is restored. */
    static double centralDifference(double[] p, int k, java.util.function.DoubleSupplier f) {
        double h = 1e-3 * Math.max(1, Math.abs(p[k])), keep = p[k];
        p[k] = keep + h;
        double lp = f.getAsDouble();
        p[k] = keep - h;
        double lm = f.getAsDouble();
        p[k] = keep;
        return (lp - lm) / (2 * h);
    }

    /** Runs r on one of Parallel's pool workers, where kernels run serially. */
    static void inWorker(Runnable r) {
        Parallel.forEach(2, i -> {
            if (i == 0) r.run();
        });
    }

    /** n values uniform in [−scale, scale). */
    static float[] random(SplittableRandom rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextDouble(-scale, scale);
        return a;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /** All of [0, C) when C ≤ max, else max distinct seeded columns including the first and last. */
    static int[] columns(SplittableRandom rnd, int C, int max) {
        if (C <= max) {
            int[] all = new int[C];
            for (int i = 0; i < C; i++) all[i] = i;
            return all;
        }
        int[] cols = rnd.ints(0, C).distinct().limit(max - 2).toArray();
        int[] out = java.util.Arrays.copyOf(cols, max);
        out[max - 2] = 0;
        out[max - 1] = C - 1;
        return java.util.stream.IntStream.of(out).distinct().toArray();
    }

    private static String where(int rows, int C, long seed) {
        return "rows=" + rows + " C=" + C + " seed=" + seed;
    }
}
