package dev.imprint.curvature;

import dev.imprint.io.SafeTensors.DType;
import dev.imprint.model.TrackedLayer;

import java.util.List;
import java.util.function.BiFunction;

/**
 * The fitting stages and the factors each stores (method §3). Every factor is one safetensors file
 * named after it, holding one tensor per tracked module name — Kronfluence's layout and names
 * (the diagonal strategy's two files are Imprint's own names, so that they can sit beside EK-FAC's).
 */
public enum Stage {
    /** Eq. 16, one pass: sums of ā ā ᵀ and Ds Dsᵀ over tokens. */
    COVARIANCE("covariance", Factor.ACTIVATION_COVARIANCE, Factor.GRADIENT_COVARIANCE,
            Factor.NUM_ACTIVATION_COVARIANCE_PROCESSED, Factor.NUM_GRADIENT_COVARIANCE_PROCESSED),
    /** Eq. 18, no pass: eigendecompositions of the covariances. */
    EIGENDECOMPOSITION("eigendecomposition", Factor.ACTIVATION_EIGENVECTORS, Factor.ACTIVATION_EIGENVALUES,
            Factor.GRADIENT_EIGENVECTORS, Factor.GRADIENT_EIGENVALUES),
    /** Eq. 19–20, one pass: EK-FAC's corrected eigenvalues. */
    LAMBDA("eigenvalue correction", Factor.LAMBDA_MATRIX, Factor.NUM_LAMBDA_PROCESSED),
    /** One pass: the diagonal strategy's mean squared per-sequence gradient. */
    DIAGONAL_LAMBDA("diagonal", Factor.DIAGONAL_LAMBDA_MATRIX, Factor.NUM_DIAGONAL_LAMBDA_PROCESSED);

    private final String title;
    private final List<Factor> factors;

    Stage(String title, Factor... factors) {
        this.title = title;
        this.factors = List.of(factors);
    }

    /** A human name for progress and messages. */
    public String title() {
        return title;
    }

    List<Factor> factors() {
        return factors;
    }

    /**
     * One stored factor: its file name, element type and per-layer shape. A covariance or
     * eigenvector factor of a layer fitted with O diagonal blocks (method §3) is stored as
     * the blocks' matrices packed into one vector ({@link Blocks}), of shape [Σ b_k²]; with one
     * block it is the (n, n) matrix, as in Kronfluence.
     */
    enum Factor {
        ACTIVATION_COVARIANCE("activation_covariance", DType.F64, (l, o) -> square(l.activationDim(), o)),
        GRADIENT_COVARIANCE("gradient_covariance", DType.F64, (l, o) -> square(l.outFeatures(), o)),
        NUM_ACTIVATION_COVARIANCE_PROCESSED("num_activation_covariance_processed", DType.I64, (l, o) -> new long[] {1}),
        NUM_GRADIENT_COVARIANCE_PROCESSED("num_gradient_covariance_processed", DType.I64, (l, o) -> new long[] {1}),
        ACTIVATION_EIGENVECTORS("activation_eigenvectors", DType.F32, (l, o) -> square(l.activationDim(), o)),
        ACTIVATION_EIGENVALUES("activation_eigenvalues", DType.F64, (l, o) -> new long[] {l.activationDim()}),
        GRADIENT_EIGENVECTORS("gradient_eigenvectors", DType.F32, (l, o) -> square(l.outFeatures(), o)),
        GRADIENT_EIGENVALUES("gradient_eigenvalues", DType.F64, (l, o) -> new long[] {l.outFeatures()}),
        LAMBDA_MATRIX("lambda_matrix", DType.F64, (l, o) -> new long[] {l.outFeatures(), l.activationDim()}),
        NUM_LAMBDA_PROCESSED("num_lambda_processed", DType.I64, (l, o) -> new long[] {1}),
        DIAGONAL_LAMBDA_MATRIX("diagonal_lambda_matrix", DType.F64, (l, o) -> new long[] {l.outFeatures(), l.activationDim()}),
        NUM_DIAGONAL_LAMBDA_PROCESSED("num_diagonal_lambda_processed", DType.I64, (l, o) -> new long[] {1});

        final String fileName;
        final DType dtype;
        private final BiFunction<TrackedLayer, Integer, long[]> shape;

        Factor(String name, DType dtype, BiFunction<TrackedLayer, Integer, long[]> shape) {
            this.fileName = name + ".safetensors";
            this.dtype = dtype;
            this.shape = shape;
        }

        /** The shape of {@code layer}'s tensor with {@code blocks} diagonal blocks. */
        long[] shape(TrackedLayer layer, int blocks) {
            return shape.apply(layer, blocks);
        }

        private static long[] square(int n, int blocks) {
            return blocks == 1 ? new long[] {n, n} : new long[] {new Blocks(n, blocks).packedLength()};
        }
    }
}
