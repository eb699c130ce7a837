package dev.imprint.influence;

import dev.imprint.curvature.Preconditioners;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

/**
 * Self-influence r^T (G + λI)⁻¹ r of training sequences (method §4), r = ∇θ L(z) with true labels:
 * per layer, the sequence's gradient DW̄ = Σ_t Ds_t ā_tᵀ is formed (one at a time) and its
 * quadratic form ⟨DW̄, (G + λI)⁻¹ DW̄⟩ taken ({@link dev.imprint.curvature.Preconditioner#quadraticForm}).
 * High values flag outliers and memorized sequences.
 */
public final class SelfInfluence {
    private SelfInfluence() {}

    /** Self-influence of every sequence of the batch, in double. */
    public static double[] compute(LanguageModel model, Preconditioners preconditioners, SequenceBatch batch) {
        int T = batch.seqLen();
        double[] out = new double[batch.batchSize()];
        model.forward(batch);
        model.backward(Targets.nextTokens(batch), (layer, b, abar, ds) -> {
            for (int s = 0; s < batch.batchSize(); s++) {
                Mat g = Mat.zeros(layer.outFeatures(), layer.activationDim());
                Gemm.mulTransA(g, ds.rows(s * T, T), abar.rows(s * T, T), false);
                out[s] += preconditioners.forLayer(layer).quadraticForm(g);
            }
        });
        return out;
    }
}
