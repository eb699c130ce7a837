package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * Per layer, Σ_b (Ds_bᵀ ā_b)∘² over sequences, where the rows of ā_b and Ds_b may already be
 * expressed in an eigenbasis (Eq. 20). One sequence's gradient (P × A, float32) exists at a time;
 * its squares are accumulated in float64, element by element in sequence order, so the sum does not
 * depend on batch boundaries or on the thread count.
 */
final class LambdaAccumulator {
    private final LayerSlots slots;
    private final double[][] sums;        // per slot (P, A)
    private final long[] sequences;       // per slot
    private float[] gradient = new float[0]; // one sequence's G_b, reused

    LambdaAccumulator(LayerSlots slots) {
        this.slots = slots;
        sums = new double[slots.size()][];
        sequences = new long[slots.size()];
        for (int s = 0; s < slots.size(); s++) {
            TrackedLayer l = slots.get(s);
            sums[s] = new double[l.outFeatures() * l.activationDim()];
        }
    }

    /** Adds one sequence: G = dsᵀ a (Eq. 26 over its rows, P × A), then sum += G∘². */
    void addSequence(int slot, Mat a, Mat ds) {
        int p = ds.cols(), n = a.cols();
        gradient = Accumulate.grow(gradient, p, n);
        Mat g = Mat.of(gradient, p, n);
        Gemm.mulTransA(g, ds, a, false);
        Accumulate.addSquares(sums[slot], g);
        sequences[slot]++;
    }

    List<LambdaMatrix> lambdas() {
        List<LambdaMatrix> out = new ArrayList<>(slots.size());
        for (int s = 0; s < slots.size(); s++) {
            TrackedLayer l = slots.get(s);
            out.add(new LambdaMatrix(l.outFeatures(), l.activationDim(), sums[s], sequences[s])); // the sums themselves, not copies
        }
        return out;
    }
}
