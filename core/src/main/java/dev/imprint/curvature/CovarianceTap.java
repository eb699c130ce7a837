package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.HeapArrays;
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

    /** One factor of one layer: the float64 sum, the float32 partial, and their token counts, per diagonal block. */
    private static final class GramSum {
        final Blocks blocks;
        final double[] sum;     // the blocks of Σ x xᵀ, packed, float64
        final float[] partial;  // the same, float32, tokens since the last flush
        long tokens;            // in sum
        int partialTokens;      // in partial

        GramSum(Blocks blocks) {
            this.blocks = blocks;
            sum = new double[blocks.packedArrayLength()];
            partial = new float[blocks.packedArrayLength()];
        }

        /** Block k of the partial, (b_k, b_k). */
        Mat partialBlock(int k) {
            return Mat.of(partial, (int) blocks.packedStart(k), blocks.size(k), blocks.size(k));
        }

        /** lower(partial_k) += lower(x_kᵀ x_k) for every block k, x_k its columns (float32 GEMMs over one sequence's rows). */
        void add(Mat x) {
            for (int k = 0; k < blocks.count(); k++)
                Gemm.gramLower(partialBlock(k), blocks.count() == 1 ? x : x.cols(blocks.start(k), blocks.size(k)), partialTokens > 0);
            partialTokens += x.rows();
        }

        /** lower(sum) += lower(partial) in float64; partial cleared. */
        void flush() {
            if (partialTokens == 0) return;
            for (int k = 0; k < blocks.count(); k++) Accumulate.addLower(sum, (int) blocks.packedStart(k), partialBlock(k));
            tokens += partialTokens;
            partialTokens = 0;
        }

        /**
         * The full symmetric blocks: their lower triangles mirrored in place (accumulation touches
         * only the lower triangles, so this can be repeated), returned without a copy, so that a
         * pass's end holds no second set of sums.
         */
        Covariance covariance() {
            flush();
            for (int k = 0; k < blocks.count(); k++) {
                int b = blocks.size(k), o = (int) blocks.packedStart(k);
                for (int i = 0; i < b; i++)
                    for (int j = 0; j < i; j++) sum[o + j * b + i] = sum[o + i * b + j];
            }
            return new Covariance(blocks, sum, tokens);
        }
    }

    public CovarianceTap(List<TrackedLayer> layers) {
        this(layers, 1, DEFAULT_FLUSH_ROWS);
    }

    /** Block-diagonal sums: each factor split into {@code blocks} diagonal blocks ({@link Blocks}). */
    public CovarianceTap(List<TrackedLayer> layers, int blocks) {
        this(layers, blocks, DEFAULT_FLUSH_ROWS);
    }

    /**
     * @param blocks    O, the diagonal blocks kept of each factor (1: the whole matrix)
     * @param flushRows tokens summed in float32 before adding into float64 (≥ 1)
     */
    public CovarianceTap(List<TrackedLayer> layers, int blocks, int flushRows) {
        if (flushRows < 1) throw new IllegalArgumentException("illegal flush size " + flushRows + ": must be at least 1");
        slots = new LayerSlots(layers);
        this.flushRows = flushRows;
        activation = new GramSum[slots.size()];
        gradient = new GramSum[slots.size()];
        for (int s = 0; s < slots.size(); s++) {
            activation[s] = new GramSum(new Blocks(slots.get(s).activationDim(), blocks));
            gradient[s] = new GramSum(new Blocks(slots.get(s).outFeatures(), blocks));
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

    /** Heap bytes a tap over {@code layer} holds for it with {@code blocks} diagonal blocks: float64 sums and float32 partials. */
    public static long bytes(TrackedLayer layer, int blocks) {
        long a = new Blocks(layer.activationDim(), blocks).packedLength(), p = new Blocks(layer.outFeatures(), blocks).packedLength();
        return HeapArrays.doubles(a) + HeapArrays.floats(a) + HeapArrays.doubles(p) + HeapArrays.floats(p);
    }

    /**
     * The sums of all tokens seen, per layer in the constructor's order (flushes the partials). The
     * sums are this tap's own arrays, not copies: they change if the tap is fed more.
     */
    public List<Covariances> covariances() {
        List<Covariances> out = new ArrayList<>(slots.size());
        for (int s = 0; s < slots.size(); s++) out.add(new Covariances(activation[s].covariance(), gradient[s].covariance()));
        return out;
    }
}
