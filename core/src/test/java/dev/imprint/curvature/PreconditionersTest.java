package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.HeapArrays;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The preconditioners read a layer at a time: which ones stay resident within the budget, and that values do not depend on it. */
class PreconditionersTest {
    private static final List<TrackedLayer> LAYERS = List.of(
            new TrackedLayer(0, "a", 3, 4, false), new TrackedLayer(1, "b", 5, 2, true),
            new TrackedLayer(2, "c", 4, 4, false), new TrackedLayer(3, "d", 2, 3, true));

    private static Preconditioner elementwise(TrackedLayer l) {
        double[] r = new double[l.outFeatures() * l.activationDim()];
        for (int i = 0; i < r.length; i++) r[i] = 1.0 / (1 + l.index() + i);
        return new Preconditioner.Elementwise(l.outFeatures(), l.activationDim(), r);
    }

    @Test
    void theFirstLayersStayResidentAndTheRestAreReadAgainEachRound() {
        List<String> reads = new ArrayList<>();
        long twoLayers = HeapArrays.doubles(4L * 3) + HeapArrays.doubles(2L * 6);
        Preconditioners p = new Preconditioners(LAYERS, l -> {
            reads.add(l.name());
            return elementwise(l);
        }, twoLayers).preload();
        assertEquals(List.of("a", "b", "c"), reads, "preload stops at the first layer past the budget");
        assertEquals(2, p.resident());
        reads.clear();
        for (int round = 0; round < 3; round++)
            for (TrackedLayer l : LAYERS) {
                double[] v = new double[l.outFeatures() * l.activationDim()];
                java.util.Arrays.fill(v, 2.0);
                assertArrayEquals(elementwise(l).precondition(v), p.precondition(l, v), 0.0, l.name());
                p.forLayer(l); // a second use in a row reads nothing
            }
        // c is still held from preload in the first round; then c and d are read each round, a and b never
        assertEquals(List.of("d", "c", "d", "c", "d"), reads);
    }

    @Test
    void aBudgetBelowOneLayerStillHoldsTheLayerInUse() {
        List<String> reads = new ArrayList<>();
        Preconditioners p = new Preconditioners(LAYERS, l -> {
            reads.add(l.name());
            return elementwise(l);
        }, 1);
        for (TrackedLayer l : LAYERS) {
            p.forLayer(l);
            p.forLayer(l);
        }
        assertEquals(List.of("a", "b", "c", "d"), reads);
        assertEquals(0, p.resident());
    }
}
