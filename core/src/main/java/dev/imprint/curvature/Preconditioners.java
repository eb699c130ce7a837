package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One {@link Preconditioner} per tracked layer: what influence scoring applies to each layer's
 * query gradient Q_ℓ (method §4, P_ℓ = precond(Q_ℓ)). Either all held in memory, or read from the
 * factors a layer at a time when asked for, keeping the most recently used ones within a byte
 * budget (method §3, scoring in bounded memory): a query is preconditioned layer after layer, so
 * one layer's factors suffice, and the values are the same either way.
 */
public final class Preconditioners {
    private final LayerSlots slots;
    private final Function<TrackedLayer, Preconditioner> load;
    private final long cacheBytes;
    private final LinkedHashMap<Integer, Preconditioner> held = new LinkedHashMap<>(16, 0.75f, true); // slot -> preconditioner, least recent first
    private long heldBytes;

    public Preconditioners(List<TrackedLayer> layers, List<Preconditioner> perLayer) {
        this(layers, l -> perLayer.get(layers.indexOf(l)), Long.MAX_VALUE);
        if (perLayer.size() != layers.size()) throw new IllegalArgumentException(perLayer.size() + " preconditioners for " + layers.size() + " layers");
        for (TrackedLayer l : layers) forLayer(l); // checks every shape now
    }

    /**
     * Preconditioners made by {@code load} when first asked for, of which at most
     * {@code cacheBytes} ({@link #bytes(Preconditioner)}) are kept (always the last one).
     */
    public Preconditioners(List<TrackedLayer> layers, Function<TrackedLayer, Preconditioner> load, long cacheBytes) {
        slots = new LayerSlots(layers);
        this.load = load;
        this.cacheBytes = cacheBytes;
    }

    public List<TrackedLayer> layers() {
        return slots.layers();
    }

    /** The layer's preconditioner: held, or made now. */
    public synchronized Preconditioner forLayer(TrackedLayer layer) {
        int s = slots.slot(layer);
        Preconditioner p = held.get(s);
        if (p != null) return p;
        p = load.apply(layer);
        if (p.rows() != layer.outFeatures() || p.cols() != layer.activationDim())
            throw new IllegalArgumentException(layer.name() + ": preconditioner is " + p.rows() + "x" + p.cols() + ", layer is " + layer.outFeatures() + "x" + layer.activationDim());
        held.put(s, p);
        heldBytes += bytes(p);
        var it = held.entrySet().iterator();
        while (heldBytes > cacheBytes && held.size() > 1) {
            Map.Entry<Integer, Preconditioner> oldest = it.next();
            heldBytes -= bytes(oldest.getValue());
            it.remove();
        }
        return p;
    }

    /**
     * Reads the layers' preconditioners now, in order, for as long as they fit the cache: so that
     * damaged factors are reported, and loading is timed, before scoring starts. Returns this.
     */
    public synchronized Preconditioners preload() {
        for (int s = 0; s < slots.size(); s++) {
            forLayer(slots.get(s));
            if (held.size() < s + 1) break; // the cache is full: the rest are read when used
        }
        return this;
    }

    /** (G + λI)⁻¹ V for the layer's (P, A) gradient V, float32; a fresh matrix. */
    public Mat precondition(TrackedLayer layer, Mat v) {
        return forLayer(layer).precondition(v);
    }

    /** The same in float64 ((P, A) row-major). */
    public double[] precondition(TrackedLayer layer, double[] v) {
        return forLayer(layer).precondition(v);
    }

    /** Bytes a preconditioner holds. */
    public static long bytes(Preconditioner p) {
        return switch (p) {
            case Preconditioner.Identity i -> 0;
            case Preconditioner.Elementwise e -> 8L * e.reciprocal().length;
            case EigenbasisPreconditioner e -> e.bytes();
        };
    }
}
