package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * The first curvature pass (Eq. 16), run with sampled labels: per tracked layer, the sums
 * Σ_t ā_t ā_tᵀ and Σ_t Ds_t Ds_tᵀ over the non-padding tokens.
 *
 * <p>Precision and speed: each sequence's Gram matrix xᵀx (x its T_b real rows; padding rows are
 * skipped) is a float32 GEMM accumulated into a float32 partial sum; only its lower triangle is
 * computed ({@link Gemm#gramLower}, half the multiply-adds), and the upper one is mirrored from it
 * when the sums are read. Once the partial holds at
 * least {@code flushRows} tokens it is added into the float64 sum and cleared. The float32 error of
 * one group is at most γ_R·Σ_t|x_ti x_tj| per element, with R ≤ flushRows + T − 1 the group's
 * tokens and γ_R = R·u/(1−R·u), u = 2⁻²⁴, whatever order the GEMM sums in; float64 adds ~2⁻⁵³ per
 * group. So the relative error is bounded by the group size, not by the fitting-set size, while the
 * float64 pass over the (n, n) sum, which is memory-bound, runs once per group rather than once per
 * sequence. Groups are cut by token count in sequence order, so the sums do not depend on how
 * sequences are grouped into batches, nor (each element being summed in the same order) on the
 * thread count. Memory: per layer, one float32 partial beside the float64 sum, for each factor.
 */
public final class CovarianceTap implements GradientTap {
    /** Tokens summed in float32 before a float64 flush: a typical batch's B·T. */
    public static final int DEFAULT_FLUSH_ROWS = 2048;

    private final LayerSlots slots;
    private final int flushRows;
    private final GramSum[] activation; // per slot: A, (A, A)
    private final GramSum[] gradient;   // per slot: S, (P, P)

    /** One factor of one layer: the float64 sum, the float32 partial, and their token counts. */
    private static final class GramSum {
        final int dim;
        final double[] sum;     // (n, n) float64
        final float[] partial;  // (n, n) float32, tokens since the last flush
        long tokens;            // in sum
        int partialTokens;      // in partial

        GramSum(int dim) {
            this.dim = dim;
            sum = new double[dim * dim];
            partial = new float[dim * dim];
        }

        /** lower(partial) += lower(xᵀx) (float32 GEMM over one sequence's rows). */
        void add(Mat x) {
            Gemm.gramLower(Mat.of(partial, dim, dim), x, partialTokens > 0);
            partialTokens += x.rows();
        }

        /** lower(sum) += lower(partial) in float64; partial cleared. */
        void flush() {
            if (partialTokens == 0) return;
            Accumulate.addLower(sum, Mat.of(partial, dim, dim));
            tokens += partialTokens;
            partialTokens = 0;
        }

        /** The full symmetric sum: the lower triangle, mirrored. */
        Covariance covariance() {
            flush();
            double[] full = sum.clone();
            for (int i = 0; i < dim; i++)
                for (int j = 0; j < i; j++) full[j * dim + i] = full[i * dim + j];
            return new Covariance(dim, full, tokens);
        }
    }

    public CovarianceTap(List<TrackedLayer> layers) {
        this(layers, DEFAULT_FLUSH_ROWS);
    }

    /** @param flushRows tokens summed in float32 before adding into float64 (≥ 1) */
    public CovarianceTap(List<TrackedLayer> layers, int flushRows) {
        if (flushRows < 1) throw new IllegalArgumentException("illegal flush size " + flushRows + ": must be at least 1");
        slots = new LayerSlots(layers);
        this.flushRows = flushRows;
        activation = new GramSum[slots.size()];
        gradient = new GramSum[slots.size()];
        for (int s = 0; s < slots.size(); s++) {
            activation[s] = new GramSum(slots.get(s).activationDim());
            gradient[s] = new GramSum(slots.get(s).outFeatures());
        }
    }

    @Override
    public void onLayer(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients) {
        int s = slots.slot(layer, batch, activations, outputGradients);
        int T = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            int rows = batch.lengths()[b]; // rows at t ≥ lengths[b] are padding (zero): neither summed nor counted
            activation[s].add(activations.rows(b * T, rows));
            gradient[s].add(outputGradients.rows(b * T, rows));
            if (activation[s].partialTokens >= flushRows) {
                activation[s].flush();
                gradient[s].flush();
            }
        }
    }

    /** The sums of all tokens seen, per layer in the constructor's order (flushes the partials). */
    public List<Covariances> covariances() {
        List<Covariances> out = new ArrayList<>(slots.size());
        for (int s = 0; s < slots.size(); s++) out.add(new Covariances(activation[s].covariance(), gradient[s].covariance()));
        return out;
    }
}
