package dev.imprint.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The packed kernel behind {@link Gemm} against the scalar oracle {@link GemmReference}, over sizes
 * that straddle the micro-tile (6 × 64 with AVX-512), the packed k slice and the column block, on
 * dense and strided views. Inputs are seeded; a failure names its seed and shape.
 */
class GemmTest {
    private static final long SEED = 0x1A2B3C4DL;
    private static final int[] SIZES = {1, 2, 5, 16, 17, 31, 64, 65, 97, 130, 257};

    /** The three variants, each as (C, A, B, accumulate) → (fast, reference). */
    private enum Variant {
        MUL, TRANS_B, TRANS_A;

        void fast(Mat c, Mat a, Mat b, boolean acc) {
            switch (this) {
                case MUL -> Gemm.mul(c, a, b, acc);
                case TRANS_B -> Gemm.mulTransB(c, a, b, acc);
                case TRANS_A -> Gemm.mulTransA(c, a, b, acc);
            }
        }

        void reference(Mat c, Mat a, Mat b, boolean acc) {
            GemmReference.gemm(this == TRANS_A, this == TRANS_B, c, a, b, acc);
        }

        /** Stored shape of A for C(m×n) with inner dimension k. */
        int[] aShape(int m, int k) {
            return this == TRANS_A ? new int[] {k, m} : new int[] {m, k};
        }

        int[] bShape(int k, int n) {
            return this == TRANS_B ? new int[] {n, k} : new int[] {k, n};
        }
    }

    @Test
    void allVariantsMatchReferenceOnAwkwardSizes() {
        SplittableRandom seeds = new SplittableRandom(SEED);
        for (Variant v : Variant.values()) {
            for (int m : SIZES) {
                for (int n : SIZES) {
                    // k over a few sizes per (m, n) keeps the run short while every k still occurs.
                    for (int k : new int[] {SIZES[(m + n) % SIZES.length], SIZES[(m * 7 + n * 3 + 5) % SIZES.length]}) {
                        check(v, m, n, k, false, seeds.nextLong(), false);
                        check(v, m, n, k, true, seeds.nextLong(), false);
                    }
                }
            }
        }
    }

    @Test
    void stridedViewsWithOffsets() {
        SplittableRandom seeds = new SplittableRandom(SEED + 1);
        // (m, n, k); k > 256 spans several packed k slices, n > 512 several packed B blocks.
        int[][] shapes = {{1, 1, 1}, {3, 17, 63}, {65, 129, 17}, {64, 64, 64}, {130, 97, 300}, {7, 200, 513}, {5, 1100, 30}};
        for (Variant v : Variant.values()) {
            for (int[] s : shapes) {
                check(v, s[0], s[1], s[2], false, seeds.nextLong(), true);
                check(v, s[0], s[1], s[2], true, seeds.nextLong(), true);
            }
        }
    }

    /** The lower triangle of XᵀX, serial and parallel, overwriting and accumulating, on strided views. */
    @Test
    void gramLowerMatchesReferenceBelowTheDiagonal() {
        SplittableRandom seeds = new SplittableRandom(SEED + 3);
        for (int n : new int[] {1, 5, 6, 7, 63, 64, 65, 257, 600, 1025}) {
            for (int k : new int[] {1, 17, 300}) {
                for (boolean acc : new boolean[] {false, true}) {
                    SplittableRandom r = new SplittableRandom(seeds.nextLong());
                    Mat x = random(r, k, n, 2, n + 3);
                    Mat fast = random(r, n, n, 1, n + 1), expected = Mat.zeros(n, n);
                    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) expected.set(i, j, fast.get(i, j));
                    Gemm.gramLower(fast, x, acc);
                    GemmReference.gemm(true, false, expected, x, x, acc);
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j <= i; j++)
                            assertEquals(expected.get(i, j), fast.get(i, j), 1e-4f * (1 + Math.abs(expected.get(i, j))),
                                    "n=" + n + " k=" + k + " acc=" + acc + " at (" + i + ", " + j + ")");
                }
            }
        }
    }

    @Test
    void largeEnoughToRunInParallel() {
        SplittableRandom seeds = new SplittableRandom(SEED + 2);
        for (Variant v : Variant.values()) {
            check(v, 301, 333, 290, false, seeds.nextLong(), false);
            check(v, 1200, 70, 45, true, seeds.nextLong(), true);
            check(v, 40, 1100, 64, false, seeds.nextLong(), true);
        }
    }

    @Test
    void emptyInnerDimensionClearsOrKeepsC() {
        Mat c = Mat.of(new float[] {1, 2, 3, 4}, 2, 2);
        Gemm.mul(c, Mat.zeros(2, 0), Mat.zeros(0, 2), true);
        assertArrayEquals(new float[] {1, 2, 3, 4}, c.data());
        Gemm.mul(c, Mat.zeros(2, 0), Mat.zeros(0, 2), false);
        assertArrayEquals(new float[] {0, 0, 0, 0}, c.data());
    }

    @Test
    void rejectsMismatchedShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.mul(Mat.zeros(2, 3), Mat.zeros(2, 4), Mat.zeros(5, 3), false));
        assertEquals("mul: inner dimensions differ (4 vs 5)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.mulTransA(Mat.zeros(2, 3), Mat.zeros(4, 3), Mat.zeros(4, 3), false));
        assertEquals("mulTransA: output is 2x3, expected 3x3", e.getMessage());
    }

    /**
     * Attention calls Gemm per (batch, head) from inside the pool, where it runs serially; a
     * top-level call of this size is split across the pool. The split never changes the order in
     * which a C element is summed, so the results are bit-identical.
     */
    @Test
    void nestedCallsFromPoolWorkersMatchTopLevelCalls() {
        int heads = 4, t = 300, d = 64;
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        // (T, 3·H·d) packed q|k|v buffer, sliced per head like attention does.
        Mat qkv = random(rnd, t, 3 * heads * d, 0, 3 * heads * d);
        float[][] nested = new float[heads][t * t];
        Parallel.forEach(heads, h -> Gemm.mulTransB(Mat.of(nested[h], t, t),
                qkv.cols(h * d, d), qkv.cols((heads + h) * d, d), false));
        for (int h = 0; h < heads; h++) {
            Mat top = Mat.zeros(t, t);
            Gemm.mulTransB(top, qkv.cols(h * d, d), qkv.cols((heads + h) * d, d), false);
            assertArrayEquals(top.data(), nested[h], "head " + h);
        }
    }

    /**
     * Compares fast and reference on one shape. The tolerance grows like √k (random-walk rounding of
     * a k-term float sum) times the largest |A|·|B| term sum, i.e. it is relative to the scale of
     * the products, not to C's possibly cancelling entries.
     */
    private static void check(Variant v, int m, int n, int k, boolean accumulate, long seed, boolean strided) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] as = v.aShape(m, k), bs = v.bShape(k, n);
        Mat a = random(rnd, as[0], as[1], strided ? 3 : 0, strided ? as[1] + 5 : as[1]);
        Mat b = random(rnd, bs[0], bs[1], strided ? 7 : 0, strided ? bs[1] + 2 : bs[1]);
        Mat c = random(rnd, m, n, strided ? 1 : 0, strided ? n + 3 : n);
        Mat expected = copy(c);
        float[] before = c.data().clone();
        v.fast(c, a, b, accumulate);
        v.reference(expected, a, b, accumulate);

        double tol = 1e-6 * Math.sqrt(k) * k + 1e-6;  // |A|, |B| ≤ 1, so every dot-product term sum is ≤ k
        for (int idx = 0; idx < c.data().length; idx++) {
            if (!inside(c, idx) && c.data()[idx] != before[idx]) {
                fail(where(v, m, n, k, accumulate, seed, strided) + ": wrote outside C at array index " + idx);
            }
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double diff = Math.abs(c.get(i, j) - expected.get(i, j));
                if (!(diff <= tol)) {
                    fail(where(v, m, n, k, accumulate, seed, strided) + ": C(" + i + "," + j + ") = " + c.get(i, j)
                            + ", reference " + expected.get(i, j) + ", |diff| " + diff + " > " + tol);
                }
            }
        }
    }

    private static String where(Variant v, int m, int n, int k, boolean accumulate, long seed, boolean strided) {
        return v + " m=" + m + " n=" + n + " k=" + k + " accumulate=" + accumulate + (strided ? " strided" : "")
                + " seed=" + seed;
    }

    /** Whether array index idx is an element of view c. */
    private static boolean inside(Mat c, int idx) {
        int rel = idx - c.offset();
        return rel >= 0 && rel / c.stride() < c.rows() && rel % c.stride() < c.cols();
    }

    /** A rows × cols view at offset with the given stride, uniform in [-1, 1), padding filled too. */
    private static Mat random(SplittableRandom rnd, int rows, int cols, int offset, int stride) {
        float[] data = new float[offset + rows * stride + 4];
        for (int i = 0; i < data.length; i++) data[i] = (float) rnd.nextDouble(-1, 1);
        return new Mat(data, offset, rows, cols, stride);
    }

    private static Mat copy(Mat x) {
        return new Mat(x.data().clone(), x.offset(), x.rows(), x.cols(), x.stride());
    }
}
