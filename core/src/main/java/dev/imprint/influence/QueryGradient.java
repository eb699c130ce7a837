package dev.imprint.influence;

import dev.imprint.curvature.Preconditioners;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * The query's gradient per tracked layer, q = ∇θ[−log p(completion | prompt)] (method §1, §4):
 * Q_ℓ = Σ_t Ds_t ā_tᵀ (P × (M+1)) over the query's positions, only completion positions carrying
 * loss.
 *
 * @param query    the query
 * @param logProb  the measurement f = log p(completion | prompt) at the current parameters (nats)
 * @param perLayer Q_ℓ in the model's tracked-layer order
 */
public record QueryGradient(Query query, double logProb, List<Mat> perLayer) {

    /** Runs the measurement forward and backward through {@code model}. */
    public static QueryGradient compute(LanguageModel model, Query query) {
        List<TrackedLayer> layers = model.trackedLayers();
        Mat[] q = new Mat[layers.size()];
        SequenceBatch batch = SequenceBatch.of(query.tokens());
        Targets targets = Targets.completion(batch, new int[] {query.completionTokens().length});
        model.forward(batch);
        double loss = model.loss(targets); // −f
        model.backward(targets, (layer, b, abar, ds) -> {
            Mat g = Mat.zeros(layer.outFeatures(), layer.activationDim());
            Gemm.mulTransA(g, ds, abar, false); // Σ_t Ds_t ā_tᵀ
            q[layer.index()] = g;
        });
        return new QueryGradient(query, -loss, List.of(q));
    }

    /**
     * P_ℓ = (G + λI)⁻¹ Q_ℓ for every layer, each written over Q_ℓ as soon as it is computed, so that
     * a query is held once rather than twice (the raw gradient is gone afterwards: this record's
     * matrices then hold the preconditioned ones).
     */
    public PreparedQuery preconditionInPlace(Preconditioners preconditioners, List<TrackedLayer> layers) {
        for (TrackedLayer l : layers) {
            Mat q = perLayer.get(l.index()), p = preconditioners.precondition(l, q);
            for (int i = 0; i < q.rows(); i++) System.arraycopy(p.data(), p.offset() + i * p.stride(), q.data(), q.offset() + i * q.stride(), q.cols());
        }
        return new PreparedQuery(query, logProb, perLayer);
    }

    /** P_ℓ = (G + λI)⁻¹ Q_ℓ for every layer (method §4). */
    public PreparedQuery precondition(Preconditioners preconditioners, List<TrackedLayer> layers) {
        Mat[] p = new Mat[perLayer.size()];
        for (TrackedLayer l : layers) p[l.index()] = preconditioners.precondition(l, perLayer.get(l.index()));
        return new PreparedQuery(query, logProb, List.of(p));
    }
}
