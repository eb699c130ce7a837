package dev.imprint.tensor;

import static dev.imprint.tensor.RmsNormTest.COLS;
import static dev.imprint.tensor.RmsNormTest.ROWS;
import static dev.imprint.tensor.RmsNormTest.U;
import static dev.imprint.tensor.RmsNormTest.centralDifference;
import static dev.imprint.tensor.RmsNormTest.columns;
import static dev.imprint.tensor.RmsNormTest.inWorker;
import static dev.imprint.tensor.RmsNormTest.random;
import static dev.imprint.tensor.RmsNormTest.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * {@link LayerNorm}, with and without bias, against a float64 reference written here (forward
 * value by value, backward against central finite differences of the float64 forward). Inputs are
 * seeded; a failure names its seed and shape.
 */
class LayerNormTest {
    private static final long SEED = 0x5EED_0002L;
    private static final float EPS = 1e-5f;

    /**
     * Relative error allowed for values derived from C-term float sums (the mean and the two-pass
     * variance): random-walk growth, a few u·√C, plus the roundings around the sums.
     */
    private static double tolerance(int C) {
        return U * (8 + 2 * Math.sqrt(C));
    }

    @Test
    void forwardMatchesFloat64Reference() {
        SplittableRandom seeds = new SplittableRandom(SEED);
        double worst = 0, worstAbs = 0;
        for (boolean withBias : new boolean[] {true, false}) {
            for (int rows : ROWS) {
                for (int C : COLS) {
                    long seed = seeds.nextLong();
                    SplittableRandom rnd = new SplittableRandom(seed);
                    float[] x = offsetRandom(rnd, rows * C), w = random(rnd, C, 1.5f), b = withBias ? random(rnd, C, 1) : null;
                    float[] out = new float[rows * C], mean = new float[rows], rstd = new float[rows];
                    LayerNorm.forward(out, mean, rstd, x, w, b, rows, C, EPS);
                    double tol = tolerance(C);
                    for (int r = 0; r < rows; r++) {
                        double[] st = refStats(x, r, C);
                        double spread = 0;
                        for (int i = 0; i < C; i++) spread = Math.max(spread, Math.abs(x[r * C + i]));
                        // the mean's error is relative to the size of the inputs, not to the mean
                        if (!(Math.abs(mean[r] - st[0]) <= tol * spread))
                            fail(where(rows, C, withBias, seed) + ": mean[" + r + "] = " + mean[r] + ", reference " + st[0]);
                        if (!(Math.abs(rstd[r] - st[1]) <= tol * st[1] * (1 + spread * st[1])))
                            fail(where(rows, C, withBias, seed) + ": rstd[" + r + "] = " + rstd[r] + ", reference " + st[1]);
                        for (int i = 0; i < C; i++) {
                            double n = (x[r * C + i] - st[0]) * st[1];
                            double y = n * w[i] + (b == null ? 0 : b[i]);
                            // |n| carries the error of μ (scaled by rstd) and of rstd; the bias adds one rounding
                            double scale = (Math.abs(n) + spread * st[1]) * Math.abs(w[i]) + (b == null ? 0 : Math.abs(b[i]));
                            double d = Math.abs(out[r * C + i] - y);
                            worst = Math.max(worst, d / (tol * scale));
                            worstAbs = Math.max(worstAbs, d);
                            if (!(d <= tol * scale))
                                fail(where(rows, C, withBias, seed) + ": out[" + r + "," + i + "] = " + out[r * C + i] + ", reference " + y);
                        }
                    }
                }
            }
        }
        System.out.printf("LayerNorm forward: worst error %.3f of tolerance, max |error| %.2e%n", worst, worstAbs);
    }

    /**
     * dinp, dweight and dbias, accumulated onto random starting values, against central
     * differences of L = Σ dout ∘ layernorm(x; w, b) in float64.
     */
    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom seeds = new SplittableRandom(SEED + 2);
        double worst = 0;
        for (int rows : ROWS) {
            for (int C : COLS) {
                long seed = seeds.nextLong();
                SplittableRandom rnd = new SplittableRandom(seed);
                float[] x = offsetRandom(rnd, rows * C), w = random(rnd, C, 1.5f), b = random(rnd, C, 1), dout = random(rnd, rows * C, 1);
                float[] out = new float[rows * C], mean = new float[rows], rstd = new float[rows];
                LayerNorm.forward(out, mean, rstd, x, w, b, rows, C, EPS);
                float[] dinp0 = random(rnd, rows * C, 1), dw0 = random(rnd, C, 1), db0 = random(rnd, C, 1);
                float[] dinp = dinp0.clone(), dw = dw0.clone(), db = db0.clone();
                LayerNorm.backward(dinp, dw, db, dout, x, w, mean, rstd, rows, C);

                double[] xd = toDouble(x), wd = toDouble(w), bd = toDouble(b), gd = toDouble(dout);
                // the backward's row sums are plain serial float loops: C·u worst case, √C typical
                double tol = 4 * U * (8 + 2 * Math.sqrt(C));
                int[] cols = columns(rnd, C, 48);
                for (int r = 0; r < rows; r++) {
                    double[] st = refStats(x, r, C);
                    double meanDn = 0, meanDnN = 0;
                    for (int i = 0; i < C; i++) {
                        double dn = Math.abs(gd[r * C + i] * wd[i]);
                        meanDn += dn;
                        meanDnN += dn * Math.abs((xd[r * C + i] - st[0]) * st[1]);
                    }
                    meanDn /= C;
                    meanDnN /= C;
                    for (int j : cols) {
                        int k = r * C + j;
                        int row = r;
                        double fd = centralDifference(xd, k, () -> rowLoss(xd, wd, bd, gd, row, C));
                        double n = Math.abs((xd[k] - st[0]) * st[1]);
                        double scale = st[1] * (Math.abs(gd[k] * wd[j]) + meanDn + (n + 1) * meanDnN);
                        double allowed = tol * scale + Math.ulp(dinp0[k]) + 1e-9 * scale;
                        double d = Math.abs((dinp[k] - (double) dinp0[k]) - fd);
                        worst = Math.max(worst, d / allowed);
                        if (!(d <= allowed))
                            fail(where(rows, C, true, seed) + ": dinp[" + r + "," + j + "] − start = " + (dinp[k] - (double) dinp0[k])
                                    + ", finite difference " + fd + ", |diff| " + d + " > " + allowed);
                    }
                }
                for (int j : columns(rnd, C, 24)) {
                    double[] fdW = new double[2], scales = new double[2];
                    for (int which = 0; which < 2; which++) {
                        double[] p = which == 0 ? wd : bd;
                        int allRows = rows;
                        fdW[which] = centralDifference(p, j, () -> {
                            double l = 0;
                            for (int r = 0; r < allRows; r++) l += rowLoss(xd, wd, bd, gd, r, C);
                            return l;
                        });
                        for (int r = 0; r < rows; r++) {
                            double[] st = refStats(x, r, C);
                            scales[which] += Math.abs(gd[r * C + j]) * (which == 0 ? Math.abs((xd[r * C + j] - st[0]) * st[1]) + 1 : 1);
                        }
                    }
                    double[] got = {dw[j] - (double) dw0[j], db[j] - (double) db0[j]};
                    double[] ulp = {Math.ulp(dw0[j]), Math.ulp(db0[j])};
                    for (int which = 0; which < 2; which++) {
                        double allowed = (tol + 4 * rows * U) * scales[which] + ulp[which] + 1e-9 * scales[which];
                        double d = Math.abs(got[which] - fdW[which]);
                        worst = Math.max(worst, d / allowed);
                        if (!(d <= allowed))
                            fail(where(rows, C, true, seed) + ": " + (which == 0 ? "dweight[" : "dbias[") + j + "] − start = " + got[which]
                                    + ", finite difference " + fdW[which]);
                    }
                }
            }
        }
        System.out.printf("LayerNorm backward: worst error %.3f of tolerance%n", worst);
    }

    /** dweight and dbias are each optional; leaving one out changes nothing else, bit for bit. */
    @Test
    void parameterGradientsAreIndependentlyOptional() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        int rows = 33, C = 65;
        float[] x = offsetRandom(rnd, rows * C), w = random(rnd, C, 1), dout = random(rnd, rows * C, 1);
        float[] out = new float[rows * C], mean = new float[rows], rstd = new float[rows];
        LayerNorm.forward(out, mean, rstd, x, w, null, rows, C, EPS);
        float[] dinp = random(rnd, rows * C, 1), dw = random(rnd, C, 1), db = random(rnd, C, 1);
        float[] dinpAll = dinp.clone(), dwAll = dw.clone(), dbAll = db.clone();
        LayerNorm.backward(dinpAll, dwAll, dbAll, dout, x, w, mean, rstd, rows, C);
        float[] dinpW = dinp.clone(), dwOnly = dw.clone();
        LayerNorm.backward(dinpW, dwOnly, null, dout, x, w, mean, rstd, rows, C);
        float[] dinpB = dinp.clone(), dbOnly = db.clone();
        LayerNorm.backward(dinpB, null, dbOnly, dout, x, w, mean, rstd, rows, C);
        float[] dinpNone = dinp.clone();
        LayerNorm.backward(dinpNone, null, null, dout, x, w, mean, rstd, rows, C);
        assertArrayEquals(dinpAll, dinpW);
        assertArrayEquals(dinpAll, dinpB);
        assertArrayEquals(dinpAll, dinpNone);
        assertArrayEquals(dwAll, dwOnly);
        assertArrayEquals(dbAll, dbOnly);
    }

    /** Serial (inside a pool worker) and parallel (top level, four tasks) runs are bit-identical. */
    @Test
    void serialAndParallelRunsAreBitIdentical() {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        int rows = 100, C = 1025;
        float[] x = offsetRandom(rnd, rows * C), w = random(rnd, C, 1), b = random(rnd, C, 1), dout = random(rnd, rows * C, 1);
        float[][] top = run(x, w, b, dout, rows, C), again = run(x, w, b, dout, rows, C);
        float[][][] nested = new float[1][][];
        inWorker(() -> nested[0] = run(x, w, b, dout, rows, C));
        for (int k = 0; k < top.length; k++) {
            assertArrayEquals(top[k], again[k], "repeat, output " + k);
            assertArrayEquals(top[k], nested[0][k], "nested, output " + k);
        }
    }

    private static float[][] run(float[] x, float[] w, float[] b, float[] dout, int rows, int C) {
        float[] out = new float[rows * C], mean = new float[rows], rstd = new float[rows];
        float[] dinp = new float[rows * C], dw = new float[C], db = new float[C];
        LayerNorm.forward(out, mean, rstd, x, w, b, rows, C, EPS);
        LayerNorm.backward(dinp, dw, db, dout, x, w, mean, rstd, rows, C);
        return new float[][] {out, mean, rstd, dinp, dw, db};
    }

    /** Inputs with a per-array offset, so the mean is not near zero. */
    private static float[] offsetRandom(SplittableRandom rnd, int n) {
        float shift = (float) rnd.nextDouble(-3, 3);
        float[] a = random(rnd, n, 2);
        for (int i = 0; i < n; i++) a[i] += shift;
        return a;
    }

    // ---- float64 reference ---------------------------------------------------------------------

    /** {mean, rstd} of row r, two-pass, in double. */
    private static double[] refStats(float[] x, int r, int C) {
        double m = 0;
        for (int i = 0; i < C; i++) m += x[r * C + i];
        m /= C;
        double v = 0;
        for (int i = 0; i < C; i++) v += (x[r * C + i] - m) * (x[r * C + i] - m);
        return new double[] {m, 1 / Math.sqrt(v / C + EPS)};
    }

    /** Σ_i dout[r,i]·y[r,i] of one row, y = (x − μ)·rstd∘w + b, in double. */
    private static double rowLoss(double[] x, double[] w, double[] b, double[] dout, int r, int C) {
        double m = 0;
        for (int i = 0; i < C; i++) m += x[r * C + i];
        m /= C;
        double v = 0;
        for (int i = 0; i < C; i++) v += (x[r * C + i] - m) * (x[r * C + i] - m);
        double rs = 1 / Math.sqrt(v / C + EPS), l = 0;
        for (int i = 0; i < C; i++) l += dout[r * C + i] * ((x[r * C + i] - m) * rs * w[i] + b[i]);
        return l;
    }

    private static String where(int rows, int C, boolean bias, long seed) {
        return "rows=" + rows + " C=" + C + (bias ? " bias" : " no bias") + " seed=" + seed;
    }
}
