package dev.imprint.tensor;

/**
 * The scalar reference GEMM: the test oracle for the packed kernel. Accumulates each dot product
 * in double so that its own rounding error is far below the kernel's.
 */
public final class GemmReference {
    private GemmReference() {}

    /** C (+)= op(A) · op(B) where op transposes when the flag is set; shapes already checked. */
    public static void gemm(boolean transA, boolean transB, Mat c, Mat a, Mat b, boolean accumulate) {
        int m = c.rows(), n = c.cols(), k = transA ? a.rows() : a.cols();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float x = transA ? a.get(p, i) : a.get(i, p);
                    float y = transB ? b.get(j, p) : b.get(p, j);
                    s += (double) x * y;
                }
                c.set(i, j, (float) (accumulate ? c.get(i, j) + s : s));
            }
        }
    }
}
