package dev.imprint.curvature;

import dev.imprint.model.LanguageModel;
import dev.imprint.tensor.Lapack;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;


/**
 * The exact damped Gauss-Newton Hessian of a fitting sample, one layer (method §7.2), for
 * validation: G = (1/N) Σ_z g_z g_zᵀ over the N per-sequence gradients g_z = Σ_t Ds_t ā_tᵀ (with the
 * sampled labels the fitting passes draw), never formed. With J the (N, D) matrix of the g_z, the
 * Woodbury identity gives (G + λI)⁻¹ v = (v − Jᵀ (NλI + JJᵀ)⁻¹ J v) / λ, an N × N solve, so a layer
 * of any width is exact as long as N · D doubles fit. λ comes from {@link Damping} applied to G's
 * diagonal, so relative damping f · tr(G)/D equals EK-FAC's f · mean(Λ) on the same sample (the
 * trace does not depend on the basis).
 *
 * @param rows      P
 * @param cols      A
 * @param gradients J, (N, P·A) row-major
 * @param n         N
 * @param lambda    λ
 * @param factor    the Cholesky factor (lower) of NλI + JJᵀ, (N, N)
 */
public record ExactPreconditioner(int rows, int cols, double[] gradients, int n, double lambda, double[] factor) implements Preconditioner {

    /** Factors NλI + JJᵀ for the gradients {@code j} (N, rows·cols) of one layer. */
    public static ExactPreconditioner of(int rows, int cols, double[] j, int n, Damping damping, String layer) {
        int d = rows * cols;
        if (j.length != (long) n * d) throw new IllegalArgumentException(layer + ": " + j.length + " gradient values for " + n + " × " + d);
        double lambda = SampleGradients.lambda(j, n, d, damping, layer);
        double[] k = new double[n * n];
        Lapack.gramLower(j, n, d, k);
        for (int z = 0; z < n; z++) k[z * n + z] += n * lambda;
        int info = Lapack.dpotrf(k, n);
        if (info != 0) throw new IllegalStateException(layer + ": NλI + JJᵀ is not positive definite (LAPACK dpotrf info " + info + ")");
        return new ExactPreconditioner(rows, cols, j, n, lambda, k);
    }

    @Override
    public Mat precondition(Mat v) {
        return SampleGradients.throughDoubles(this, v);
    }

    @Override
    public double[] precondition(double[] v) {
        Preconditioner.checkShape(this, v);
        int d = v.length;
        double[] y = new double[n];
        Parallel.forEach(n, z -> {
            double s = 0;
            for (int i = 0; i < d; i++) s += gradients[z * d + i] * v[i];
            y[z] = s;
        });
        int info = Lapack.dpotrs(factor, n, y, 1);
        if (info != 0) throw new IllegalStateException("LAPACK dpotrs info " + info);
        double[] out = v.clone();
        for (int z = 0; z < n; z++) {
            double yz = y[z];
            for (int i = 0; i < d; i++) out[i] -= gradients[z * d + i] * yz;
        }
        for (int i = 0; i < d; i++) out[i] /= lambda;
        return out;
    }

    @Override
    public double quadraticForm(Mat v) {
        return SampleGradients.quadraticForm(this, v);
    }

    /** Bytes of the gradients and the factor of a layer of {@code rows × cols} over {@code n} sequences. */
    public static long bytes(int rows, int cols, int n) {
        return 8L * n * ((long) rows * cols + n);
    }

    /** The exact preconditioner of every tracked layer, from the fitting sample's per-sequence gradients. */
    public static Preconditioners fit(LanguageModel model, TapPass pass, int n, Damping damping) {
        return SampleGradients.preconditioners(model, pass, n, (l, j) -> of(l.outFeatures(), l.activationDim(), j, n, damping, l.name()));
    }
}
