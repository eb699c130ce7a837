package dev.imprint.tensor;

/**
 * Single-precision matrix multiplication on {@link Mat} views, in the three forms a transformer's
 * forward and backward need. Shapes are checked from the views; {@code accumulate} adds into C
 * instead of overwriting it. The work is done by {@link PackedGemm}; {@link GemmReference} is the
 * scalar oracle it is tested against. Large products are split across {@link Parallel}'s pool.
 *
 * <pre>
 *   mul        C(m×n) (+)= A(m×k) · B(k×n)
 *   mulTransB  C(m×n) (+)= A(m×k) · B(n×k)ᵀ
 *   mulTransA  C(m×n) (+)= A(k×m)ᵀ · B(k×n)
 *   gramLower  C(n×n) (+)= X(k×n)ᵀ · X(k×n), lower triangle only
 * </pre>
 */
public final class Gemm {
    private Gemm() {}

    /** C (+)= A · B. */
    public static void mul(Mat c, Mat a, Mat b, boolean accumulate) {
        check(c, a.rows(), b.cols(), a.cols(), b.rows(), "mul");
        PackedGemm.gemm(c, PackedGemm.Operand.of(a), PackedGemm.Operand.of(b), a.cols(), accumulate);
    }

    /** C (+)= A · Bᵀ. */
    public static void mulTransB(Mat c, Mat a, Mat b, boolean accumulate) {
        check(c, a.rows(), b.rows(), a.cols(), b.cols(), "mulTransB");
        PackedGemm.gemm(c, PackedGemm.Operand.of(a), PackedGemm.Operand.transposed(b), a.cols(), accumulate);
    }

    /** C (+)= Aᵀ · B. */
    public static void mulTransA(Mat c, Mat a, Mat b, boolean accumulate) {
        check(c, a.cols(), b.cols(), a.rows(), b.rows(), "mulTransA");
        PackedGemm.gemm(c, PackedGemm.Operand.transposed(a), PackedGemm.Operand.of(b), a.rows(), accumulate);
    }

    /**
     * The lower triangle (j ≤ i) of C (+)= Xᵀ · X, in about half the time of {@link #mulTransA};
     * entries above the diagonal are left unspecified (partly written, partly untouched).
     */
    public static void gramLower(Mat c, Mat x, boolean accumulate) {
        check(c, x.cols(), x.cols(), x.rows(), x.rows(), "gramLower");
        PackedGemm.gramLower(c, x, accumulate);
    }

    private static void check(Mat c, int m, int n, int kA, int kB, String op) {
        if (kA != kB) throw new IllegalArgumentException(op + ": inner dimensions differ (" + kA + " vs " + kB + ")");
        if (c.rows() != m || c.cols() != n)
            throw new IllegalArgumentException(op + ": output is " + c.rows() + "x" + c.cols() + ", expected " + m + "x" + n);
    }
}
