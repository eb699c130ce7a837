package dev.imprint.curvature;

import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;

/**
 * Adding a float32 matrix (a GEMM result) into a float64 running sum (method §3: accumulate in
 * float64). Rows are split across threads, but every element of the sum receives its terms in call
 * order, so the sum does not depend on the thread count.
 */
final class Accumulate {
    private Accumulate() {}

    /** The lower triangle (j ≤ i) of sum += x, x square, sum's matrix starting at {@code at}. */
    static void addLower(double[] sum, int at, Mat x) {
        int cols = x.cols();
        Parallel.forEach(x.rows(), i -> {
            int s = at + i * cols, o = x.offset() + i * x.stride();
            float[] d = x.data();
            for (int j = 0; j <= i; j++) sum[s + j] += d[o + j];
        });
    }

    /** sum += x∘x (element-wise square, taken in float64). */
    static void addSquares(double[] sum, Mat x) {
        int cols = x.cols();
        Parallel.forEach(x.rows(), i -> {
            int s = i * cols, o = x.offset() + i * x.stride();
            float[] d = x.data();
            for (int j = 0; j < cols; j++) {
                double v = d[o + j];
                sum[s + j] += v * v;
            }
        });
    }

    /** {@code scratch} when it holds at least rows·cols floats, else a new array that does. */
    static float[] grow(float[] scratch, int rows, int cols) {
        int n = Math.multiplyExact(rows, cols);
        return scratch.length >= n ? scratch : new float[n];
    }
}
