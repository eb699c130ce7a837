package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * The third curvature pass (Eq. 19–20), run with sampled labels: per layer,
 * Λ = mean over sequences of (Q_Sᵀ DW̄_b Q_A)∘², with DW̄_b = Σ_t Ds_t ā_tᵀ over sequence b.
 *
 * <p>Projecting first avoids forming DW̄_b in the parameter basis: with ā' = ā Q_A (T × A) and
 * Ds' = Ds Q_S (T × P), Q_Sᵀ DW̄_b Q_A = Ds'ᵀ ā'. The three products are float32 GEMMs (Q is
 * float32; with block-diagonal factors the projections are one GEMM per block); the squares
 * accumulate in float64.
 */
public final class EigenvalueCorrection implements GradientTap {
    private final LayerSlots slots;
    private final KroneckerEigenbasis[] bases; // per slot Q_A, Q_S (float32, block-diagonal or not)
    private final LambdaAccumulator lambdas;
    private float[] projectedActivations = new float[0]; // ā' of the batch, (B·T, A)
    private float[] projectedGradients = new float[0];   // Ds' of the batch, (B·T, P)

    /** @param bases each layer's eigenbasis, in the order of {@code layers} */
    public EigenvalueCorrection(List<TrackedLayer> layers, List<KroneckerEigenbasis> bases) {
        slots = new LayerSlots(layers);
        if (bases.size() != layers.size()) throw new IllegalArgumentException(bases.size() + " eigenbases for " + layers.size() + " layers");
        this.bases = new KroneckerEigenbasis[slots.size()];
        for (int s = 0; s < slots.size(); s++) {
            TrackedLayer l = slots.get(s);
            KroneckerEigenbasis q = bases.get(s);
            if (q.activation().dim() != l.activationDim() || q.gradient().dim() != l.outFeatures())
                throw new IllegalArgumentException(l.name() + ": eigenbasis is " + q.gradient().dim() + "x" + q.activation().dim()
                        + ", layer is " + l.outFeatures() + "x" + l.activationDim());
            this.bases[s] = q;
        }
        lambdas = new LambdaAccumulator(slots);
    }

    @Override
    public void onLayer(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients) {
        int s = slots.slot(layer, batch, activations, outputGradients);
        int T = batch.seqLen(), a = layer.activationDim(), p = layer.outFeatures();
        int rows = activations.rows();
        projectedActivations = Accumulate.grow(projectedActivations, rows, a);
        projectedGradients = Accumulate.grow(projectedGradients, rows, p);
        // one GEMM each for the whole batch: ā' = ā Q_A, Ds' = Ds Q_S (padding rows stay zero)
        Mat ap = Mat.of(projectedActivations, rows, a), dp = Mat.of(projectedGradients, rows, p);
        bases[s].activation().times(ap, activations);
        bases[s].gradient().times(dp, outputGradients);
        for (int b = 0; b < batch.batchSize(); b++) {
            int len = batch.lengths()[b]; // padding rows add nothing to DW̄_b
            lambdas.addSequence(s, ap.rows(b * T, len), dp.rows(b * T, len)); // += (Ds'ᵀ ā')∘² (Eq. 20)
        }
    }

    /** Σ_b (Q_Sᵀ DW̄_b Q_A)∘² so far, per layer in the constructor's order. */
    public List<LambdaMatrix> lambdas() {
        return lambdas.lambdas();
    }
}
