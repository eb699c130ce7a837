package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * The diagonal strategy's pass (method §3 table), run with sampled labels: per layer,
 * Λ_diag = mean over sequences of DW̄_b∘², the diagonal of the per-sequence Fisher in the parameter
 * basis — the same accumulation as {@link EigenvalueCorrection} without the projection.
 */
public final class DiagonalFisher implements GradientTap {
    private final LayerSlots slots;
    private final LambdaAccumulator lambdas;

    public DiagonalFisher(List<TrackedLayer> layers) {
        slots = new LayerSlots(layers);
        lambdas = new LambdaAccumulator(slots);
    }

    @Override
    public void onLayer(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients) {
        int s = slots.slot(layer, batch, activations, outputGradients);
        int T = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            int rows = batch.lengths()[b];
            lambdas.addSequence(s, activations.rows(b * T, rows), outputGradients.rows(b * T, rows)); // += DW̄_b∘²
        }
    }

    /** Σ_b DW̄_b∘² so far, per layer in the constructor's order. */
    public List<LambdaMatrix> lambdas() {
        return lambdas.lambdas();
    }
}
