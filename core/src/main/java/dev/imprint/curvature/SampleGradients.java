package dev.imprint.curvature;

import dev.imprint.InputException;
import dev.imprint.model.GradientTap;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * What the validation preconditioners (the exact solve of method §7.2 and LiSSA of §7.4) share:
 * the fitting sample's per-sequence gradients, the damping they take from G's diagonal, and their
 * float32 paths through the float64 one.
 */
final class SampleGradients {
    private SampleGradients() {}

    /** One pass for the gradients, then {@code build} of each tracked layer from its J. */
    static Preconditioners preconditioners(LanguageModel model, TapPass pass, int n, BiFunction<TrackedLayer, double[], Preconditioner> build) {
        double[][] j = collect(model, pass, n);
        List<Preconditioner> out = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) out.add(build.apply(l, j[l.index()]));
        return new Preconditioners(model.trackedLayers(), out);
    }

    /**
     * One pass over the fitting sample that keeps every sequence's gradient at every tracked layer:
     * per layer, J (N, P·A) row-major with row z = vec(Σ_t Ds_t ā_tᵀ) of the pass's z-th sequence.
     */
    static double[][] collect(LanguageModel model, TapPass pass, int n) {
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

    /**
     * λ from {@code damping} applied to the diagonal of G = JᵀJ/N, so that relative damping is
     * f · tr(G)/D; refused in one line when it is not positive (a layer whose gradients are all zero).
     */
    static double lambda(double[] j, int n, int d, Damping damping, String layer) {
        double[] diagonal = new double[d];
        for (int z = 0; z < n; z++)
            for (int i = 0; i < d; i++) diagonal[i] += j[z * d + i] * j[z * d + i] / n;
        double lambda = damping.lambda(diagonal);
        if (!(lambda > 0)) throw new InputException(layer + ": damping λ = " + lambda + " (its gradients are all zero); give an explicit positive --damping");
        return lambda;
    }

    /** {@code p}'s float64 path applied to the float32 {@code v}, rounded back to float32. */
    static Mat throughDoubles(Preconditioner p, Mat v) {
        double[] x = p.precondition(toDouble(p, v));
        Mat out = Mat.zeros(p.rows(), p.cols());
        for (int i = 0; i < x.length; i++) out.data()[i] = (float) x[i];
        return out;
    }

    /** ⟨v, p(v)⟩ through the float64 path. */
    static double quadraticForm(Preconditioner p, Mat v) {
        double[] x = toDouble(p, v), y = p.precondition(x);
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    private static double[] toDouble(Preconditioner p, Mat v) {
        Preconditioner.checkShape(p, v);
        double[] x = new double[p.rows() * p.cols()];
        for (int i = 0; i < p.rows(); i++)
            for (int c = 0; c < p.cols(); c++) x[i * p.cols() + c] = v.get(i, c);
        return x;
    }
}
