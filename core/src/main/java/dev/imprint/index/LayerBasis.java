package dev.imprint.index;

import dev.imprint.curvature.KroneckerEigenbasis;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The directions a gradient index keeps of one tracked layer (method §5.3): k_S eigenvectors of the
 * gradient factor S as the columns of U (P × k_S) and k_A eigenvectors of the activation factor A
 * as the columns of V (A × k_A). A P × A matrix M is kept as its k_S × k_A block Uᵀ M V in the
 * Kronecker eigenbasis.
 *
 * @param layer the tracked layer
 * @param u     U, (P, k_S), orthonormal columns
 * @param v     V, (A, k_A), orthonormal columns
 */
public record LayerBasis(TrackedLayer layer, Mat u, Mat v) {
    public LayerBasis {
        if (u.rows() != layer.outFeatures() || v.rows() != layer.activationDim())
            throw new IllegalArgumentException(layer.name() + ": directions are " + u.rows() + " and " + v.rows() + " long, the layer is "
                    + layer.outFeatures() + "x" + layer.activationDim());
    }

    /** k_S · k_A: the floats one sequence's gradient takes for this layer. */
    public int size() {
        return u.cols() * v.cols();
    }

    /**
     * The k_S rows and k_A columns of the Kronecker eigenbasis that carry the most of the damped
     * curvature's mass (method §5.3): entry (i, j) weighs Λ_ij / (Λ_ij + λ), row i's mass is its
     * sum over j and column j's its sum over i; ties go to the lower index. k is capped at the
     * layer's width.
     *
     * @param eigenvalues Λ, (P, A) row-major, the eigenvalues the strategy divides by
     * @param lambda      the layer's damping λ
     */
    public static LayerBasis select(TrackedLayer layer, KroneckerEigenbasis basis, double[] eigenvalues, double lambda, int kS, int kA) {
        int p = layer.outFeatures(), a = layer.activationDim();
        if (eigenvalues.length != (long) p * a) throw new IllegalArgumentException(layer.name() + ": Λ has " + eigenvalues.length + " entries, expected " + p + "x" + a);
        if (kS < 1 || kA < 1) throw new IllegalArgumentException("directions per side must be at least 1, not " + kS + " and " + kA);
        double[] rowMass = new double[p], colMass = new double[a];
        for (int i = 0; i < p; i++)
            for (int j = 0; j < a; j++) {
                double l = eigenvalues[i * a + j], w = l / (l + lambda);
                rowMass[i] += w;
                colMass[j] += w;
            }
        return new LayerBasis(layer, basis.gradient().columns(heaviest(rowMass, Math.min(kS, p))), basis.activation().columns(heaviest(colMass, Math.min(kA, a))));
    }

    /** The indices of the k largest masses, ascending. */
    static int[] heaviest(double[] mass, int k) {
        int[] order = IntStream.range(0, mass.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -mass[i]).thenComparing(i -> i)).mapToInt(Integer::intValue).toArray();
        int[] top = Arrays.copyOf(order, k);
        Arrays.sort(top);
        return top;
    }

    /** Uᵀ M V for a (P, A) matrix M (a preconditioned query), written row-major into {@code out} at {@code offset}. */
    public void compress(Mat m, float[] out, int offset) {
        Mat t = Mat.zeros(u.cols(), v.rows());
        Gemm.mulTransA(t, u, m, false);                            // Uᵀ M
        Gemm.mul(Mat.of(out, offset, u.cols(), v.cols()), t, v, false); // (Uᵀ M) V
    }

    /**
     * Each sequence's Uᵀ DW̄ V = Σ_t (Uᵀ Ds_t)(Vᵀ ā_t)ᵀ = Xᵀ Y over its rows of X = Ds U and Y = ā V
     * (padding rows are zero), for a batch's tap rows: sequence i's block goes to {@code out} at
     * {@code offset + i * stride}.
     *
     * @param abar ā over the batch, (B·T, A)
     * @param ds   Ds over the batch, (B·T, P)
     */
    public void compressBatch(Mat abar, Mat ds, int sequences, int seqLen, float[] out, int offset, int stride) {
        Mat x = Mat.zeros(abar.rows(), u.cols()), y = Mat.zeros(abar.rows(), v.cols());
        Gemm.mul(x, ds, u, false);   // Ds U
        Gemm.mul(y, abar, v, false); // ā V
        for (int i = 0; i < sequences; i++)
            Gemm.mulTransA(Mat.of(out, offset + i * stride, u.cols(), v.cols()), x.rows(i * seqLen, seqLen), y.rows(i * seqLen, seqLen), false);
    }
}
