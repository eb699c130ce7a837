package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Lapack;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;

import java.util.ArrayList;
import java.util.List;

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
        double[] diagonal = new double[d];
        for (int z = 0; z < n; z++)
            for (int i = 0; i < d; i++) diagonal[i] += j[z * d + i] * j[z * d + i] / n;
        double lambda = damping.lambda(diagonal);
        if (!(lambda > 0)) throw new dev.imprint.InputException(layer + ": damping λ = " + lambda + " (its gradients are all zero); give an explicit positive --damping");
        double[] k = new double[n * n];
        Lapack.gramLower(j, n, d, k);
        for (int z = 0; z < n; z++) k[z * n + z] += n * lambda;
        int info = Lapack.dpotrf(k, n);
        if (info != 0) throw new IllegalStateException(layer + ": NλI + JJᵀ is not positive definite (LAPACK dpotrf info " + info + ")");
        return new ExactPreconditioner(rows, cols, j, n, lambda, k);
    }

    @Override
    public Mat precondition(Mat v) {
        double[] p = precondition(toDouble(v));
        Mat out = Mat.zeros(rows, cols);
        for (int i = 0; i < p.length; i++) out.data()[i] = (float) p[i];
        return out;
    }

    private double[] toDouble(Mat v) {
        Preconditioner.checkShape(this, v);
        double[] x = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < cols; c++) x[i * cols + c] = v.get(i, c);
        return x;
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
        double[] x = toDouble(v), p = precondition(x);
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * p[i];
        return s;
    }

    /** Bytes of the gradients and the factor of a layer of {@code rows × cols} over {@code n} sequences. */
    public static long bytes(int rows, int cols, int n) {
        return 8L * n * ((long) rows * cols + n);
    }

    /** The exact preconditioner of every tracked layer, from the fitting sample's per-sequence gradients. */
    public static Preconditioners fit(LanguageModel model, TapPass pass, int n, Damping damping) {
        double[][] j = sequenceGradients(model, pass, n);
        List<Preconditioner> out = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) out.add(of(l.outFeatures(), l.activationDim(), j[l.index()], n, damping, l.name()));
        return new Preconditioners(model.trackedLayers(), out);
    }

    /**
     * One pass over the fitting sample that keeps every sequence's gradient at every tracked layer:
     * per layer, J (N, P·A) row-major with row z = vec(Σ_t Ds_t ā_tᵀ) of the pass's z-th sequence.
     */
    public static double[][] sequenceGradients(LanguageModel model, TapPass pass, int n) {
        List<TrackedLayer> layers = model.trackedLayers();
        double[][] j = new double[layers.size()][];
        int[] filled = new int[layers.size()];
        for (TrackedLayer l : layers) j[l.index()] = new double[Math.multiplyExact(n, l.outFeatures() * l.activationDim())];
        pass.run(new GradientTap() {
            @Override
            public void onLayer(TrackedLayer layer, SequenceBatch batch, Mat abar, Mat ds) {
                int P = layer.outFeatures(), A = layer.activationDim(), T = batch.seqLen(), li = layer.index();
                for (int b = 0; b < batch.batchSize(); b++) {
                    int z = filled[li]++, len = batch.lengths()[b];
                    if (z >= n) throw new IllegalStateException("the pass gave more than " + n + " sequences");
                    Mat g = Mat.zeros(P, A);
                    dev.imprint.tensor.Gemm.mulTransA(g, ds.rows(b * T, len), abar.rows(b * T, len), false); // Σ_t Ds_t ā_tᵀ
                    for (int i = 0; i < P * A; i++) j[li][z * P * A + i] = g.data()[i]; // n·P·A fits an int (checked when allocated)
                }
            }
        });
        for (TrackedLayer l : layers)
            if (filled[l.index()] != n) throw new IllegalStateException(l.name() + ": the pass gave " + filled[l.index()] + " of " + n + " sequences");
        return j;
    }
}
