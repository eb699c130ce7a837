package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.HeapArrays;
import dev.imprint.tensor.Mat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One {@link Preconditioner} per tracked layer: what influence scoring applies to each layer's
 * query gradient Q_ℓ (method §4, P_ℓ = precond(Q_ℓ)). Either all held in memory, or read from the
 * factors a layer at a time when asked for (method §3.4, scoring in bounded memory): the layers
 * read first stay resident for as long as they fit a byte budget, and a layer read after the budget
 * is full is kept only until the next such read. Scoring visits the layers in the same order for
 * every query, so the resident ones are read once, where a least-recently-used cache smaller than
 * the cycle would read every layer every time. A query is preconditioned layer after layer, so one
 * layer's factors suffice, and the values are the same either way.
 */
public final class Preconditioners {
    private final LayerSlots slots;
    private final Function<TrackedLayer, Preconditioner> load;
    private final long cacheBytes;
    private final Map<Integer, Preconditioner> resident = new HashMap<>(); // slot -> preconditioner, kept for good
    private long residentBytes;
    /** The last layer read once the budget was full, and its slot (-1: none). */
    private Preconditioner transientOne;
    private int transientSlot = -1;

    public Preconditioners(List<TrackedLayer> layers, List<Preconditioner> perLayer) {
        this(layers, l -> perLayer.get(layers.indexOf(l)), Long.MAX_VALUE);
        if (perLayer.size() != layers.size()) throw new IllegalArgumentException(perLayer.size() + " preconditioners for " + layers.size() + " layers");
        for (TrackedLayer l : layers) forLayer(l); // checks every shape now
    }

    /**
     * Preconditioners made by {@code load} when first asked for: the first ones, up to
     * {@code cacheBytes} ({@link #bytes(Preconditioner)}), kept, and beside them the last one read.
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
        Preconditioner p = resident.get(s);
        if (p != null) return p;
        if (s == transientSlot) return transientOne;
        transientOne = null; // released before the next one is read
        transientSlot = -1;
        p = load.apply(layer);
        if (p.rows() != layer.outFeatures() || p.cols() != layer.activationDim())
            throw new IllegalArgumentException(layer.name() + ": preconditioner is " + p.rows() + "x" + p.cols() + ", layer is " + layer.outFeatures() + "x" + layer.activationDim());
        long b = bytes(p);
        if (residentBytes + b <= cacheBytes) {
            resident.put(s, p);
            residentBytes += b;
        } else {
            transientOne = p;
            transientSlot = s;
        }
        return p;
    }

    /**
     * Reads the layers' preconditioners now, in order, for as long as they fit the cache: so that
     * damaged factors are reported, and loading is timed, before scoring starts. Returns this.
     */
    public synchronized Preconditioners preload() {
        for (int s = 0; s < slots.size() && transientSlot < 0; s++) forLayer(slots.get(s));
        return this;
    }

    /** How many layers' preconditioners stay resident. */
    public synchronized int resident() {
        return resident.size();
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
            case Preconditioner.Elementwise e -> HeapArrays.doubles(e.reciprocal().length);
            case EigenbasisPreconditioner e -> e.bytes();
            case ExactPreconditioner e -> HeapArrays.doubles(e.gradients().length) + HeapArrays.doubles(e.factor().length);
            case LissaPreconditioner e -> HeapArrays.doubles(e.gradients().length);
        };
    }
}
