package dev.imprint.curvature;

import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.HeapArrays;
import dev.imprint.tensor.Mat;

/**
 * One Kronecker factor's eigenbasis (Eq. 18), C = Q diag(λ) Qᵀ, block-diagonal when the factor is
 * (method §3): Q = diag(Q_1, …, Q_O), each Q_k the eigenvectors of C's k-th diagonal block. The
 * decomposition runs in float64 ({@link Eigenbasis}); Q is kept, and stored, in float32 — the
 * precision the GEMMs that project into the eigenbasis use — and λ in float64.
 *
 * @param blocks  n and the blocks
 * @param vectors the Q_k packed ({@link Blocks}), each (b_k, b_k) row-major with eigenvectors as columns
 * @param values  λ, (n): block k's eigenvalues (ascending) at its indices
 */
public record FactorBasis(Blocks blocks, float[] vectors, double[] values) {
    public FactorBasis {
        if (vectors.length != blocks.packedLength())
            throw new IllegalArgumentException("eigenvectors have " + vectors.length + " entries, expected " + blocks.packedLength() + " for " + blocks);
        if (values.length != blocks.dim()) throw new IllegalArgumentException("eigenvalues have " + values.length + " entries, expected " + blocks.dim());
    }

    /** Eq. 18 for a covariance: the eigenbasis of each diagonal block of its mean. */
    public static FactorBasis of(Covariance c) {
        Blocks blocks = c.blocks();
        double[] mean = c.mean(), values = new double[blocks.dim()];
        float[] vectors = new float[blocks.packedArrayLength()];
        for (int k = 0; k < blocks.count(); k++) {
            int b = blocks.size(k), from = (int) blocks.packedStart(k);
            Eigenbasis e = Eigenbasis.of(java.util.Arrays.copyOfRange(mean, from, from + b * b), b);
            for (int i = 0; i < b * b; i++) vectors[from + i] = (float) e.vectors()[i];
            System.arraycopy(e.values(), 0, values, blocks.start(k), b);
        }
        return new FactorBasis(blocks, vectors, values);
    }

    /** A dense decomposition, Q rounded to float32. */
    public static FactorBasis of(Eigenbasis e) {
        float[] q = new float[e.vectors().length];
        for (int i = 0; i < q.length; i++) q[i] = (float) e.vectors()[i];
        return new FactorBasis(Blocks.dense(e.dim()), q, e.values().clone());
    }

    /** n. */
    public int dim() {
        return blocks.dim();
    }

    /** Q_k as a matrix. */
    private Mat block(int k) {
        int b = blocks.size(k);
        return Mat.of(vectors, (int) blocks.packedStart(k), b, b);
    }

    /** out = x · Q, x and out (r, n). */
    public void times(Mat out, Mat x) {
        byBlocks(out, x, true, (o, xk, q) -> Gemm.mul(o, xk, q, false));
    }

    /** out = x · Qᵀ, x and out (r, n). */
    public void timesTransposed(Mat out, Mat x) {
        byBlocks(out, x, true, (o, xk, q) -> Gemm.mulTransB(o, xk, q, false));
    }

    /** out = Qᵀ · x, x and out (n, c). */
    public void transposeTimes(Mat out, Mat x) {
        byBlocks(out, x, false, (o, xk, q) -> Gemm.mulTransA(o, q, xk, false));
    }

    /** out = Q · x, x and out (n, c). */
    public void leftTimes(Mat out, Mat x) {
        byBlocks(out, x, false, (o, xk, q) -> Gemm.mul(o, q, xk, false));
    }

    /** One GEMM with one block: out_k from x_k and Q_k. */
    @FunctionalInterface
    private interface BlockProduct {
        void apply(Mat out, Mat x, Mat q);
    }

    /**
     * Applies {@code product} per block k to the columns (Q on the right) or the rows (Q on the
     * left) of {@code out} and {@code x} that block k covers: Q being block-diagonal, the other
     * blocks contribute nothing there. One block is one GEMM over the whole matrices.
     */
    private void byBlocks(Mat out, Mat x, boolean columns, BlockProduct product) {
        if (blocks.count() == 1) {
            product.apply(out, x, block(0));
            return;
        }
        for (int k = 0; k < blocks.count(); k++) {
            int s = blocks.start(k), b = blocks.size(k);
            product.apply(columns ? out.cols(s, b) : out.rows(s, b), columns ? x.cols(s, b) : x.rows(s, b), block(k));
        }
    }

    /**
     * The eigenvectors {@code which} (indices into λ) as the columns of a dense (n, k) matrix, zero
     * outside each one's block.
     */
    public Mat columns(int[] which) {
        int n = dim();
        Mat out = Mat.zeros(n, which.length);
        for (int c = 0; c < which.length; c++) {
            int j = which[c], k = 0;
            if (j < 0 || j >= n) throw new IllegalArgumentException("eigenvector " + j + " outside 0.." + (n - 1));
            while (blocks.start(k) + blocks.size(k) <= j) k++;
            int s = blocks.start(k), b = blocks.size(k), from = (int) blocks.packedStart(k);
            for (int i = 0; i < b; i++) out.data()[(s + i) * which.length + c] = vectors[from + i * b + (j - s)];
        }
        return out;
    }

    /** Q as a dense (n, n) float64 matrix, zero off the blocks: for the float64 reference path. */
    public double[] dense() {
        int n = dim();
        double[] q = new double[Math.multiplyExact(n, n)];
        for (int k = 0; k < blocks.count(); k++) {
            int s = blocks.start(k), b = blocks.size(k), from = (int) blocks.packedStart(k);
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) q[(s + i) * n + s + j] = vectors[from + i * b + j];
        }
        return q;
    }

    /** Bytes of Q and λ in memory. */
    public long bytes() {
        return HeapArrays.floats(vectors.length) + HeapArrays.doubles(values.length);
    }
}
