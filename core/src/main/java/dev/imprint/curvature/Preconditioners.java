package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * One {@link Preconditioner} per tracked layer: what influence scoring applies to each layer's
 * query gradient Q_ℓ (method §4, P_ℓ = precond(Q_ℓ)).
 */
public final class Preconditioners {
    private final LayerSlots slots;
    private final List<Preconditioner> bySlot;

    public Preconditioners(List<TrackedLayer> layers, List<Preconditioner> perLayer) {
        slots = new LayerSlots(layers);
        if (perLayer.size() != layers.size()) throw new IllegalArgumentException(perLayer.size() + " preconditioners for " + layers.size() + " layers");
        for (int s = 0; s < layers.size(); s++) {
            TrackedLayer l = layers.get(s);
            Preconditioner p = perLayer.get(s);
            if (p.rows() != l.outFeatures() || p.cols() != l.activationDim())
                throw new IllegalArgumentException(l.name() + ": preconditioner is " + p.rows() + "x" + p.cols() + ", layer is " + l.outFeatures() + "x" + l.activationDim());
        }
        bySlot = List.copyOf(perLayer);
    }

    public List<TrackedLayer> layers() {
        return slots.layers();
    }

    public Preconditioner forLayer(TrackedLayer layer) {
        return bySlot.get(slots.slot(layer));
    }

    /** (G + λI)⁻¹ V for the layer's (P, A) gradient V, float32; a fresh matrix. */
    public Mat precondition(TrackedLayer layer, Mat v) {
        return forLayer(layer).precondition(v);
    }

    /** The same in float64 ((P, A) row-major). */
    public double[] precondition(TrackedLayer layer, double[] v) {
        return forLayer(layer).precondition(v);
    }
}
