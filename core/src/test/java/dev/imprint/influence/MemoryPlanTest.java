package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.curvature.Strategy;
import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Memory plans for a Llama-3.2-1B shape (16 blocks, 2048 → 8192 → 2048 SwiGLU), against hand-computed sizes. */
class MemoryPlanTest {
    static final long GIB = 1L << 30;

    static MemoryPlan.Model llama1b() {
        List<TrackedLayer> layers = new ArrayList<>();
        for (int b = 0; b < 16; b++) {
            layers.add(new TrackedLayer(layers.size(), "model.layers." + b + ".mlp.gate_proj", 2048, 8192, false));
            layers.add(new TrackedLayer(layers.size(), "model.layers." + b + ".mlp.up_proj", 2048, 8192, false));
            layers.add(new TrackedLayer(layers.size(), "model.layers." + b + ".mlp.down_proj", 8192, 2048, false));
        }
        return new MemoryPlan.Model(4L * 1_235_814_400L, GIB, 1, 512, layers);
    }

    @Test
    void denseCovariancesOfA1bModelTakeSeveralPassesIn20GiB() {
        MemoryPlan plan = MemoryPlan.fit(llama1b(), new Strategy.Ekfac(), 1, 20 * GIB);
        // a covariance pass holds 12·(A² + P²) bytes per layer: 12·(2048² + 8192²) = 855,638,016 (each array a whole number of G1 regions)
        long perLayer = layerState(2048L * 2048) + layerState(8192L * 8192);
        long fits = plan.available() / perLayer;
        int passes = (int) Math.ceil(48.0 / fits);
        assertTrue(passes > 1, "all 48 layers' sums (" + 48 * perLayer / GIB + " GiB) cannot be held at once");
        String text = plan.render();
        assertTrue(text.contains("covariance: " + passes + " passes over the fitting set"), text);
        plan.requireFits(llama1b().layers(), 1, 1); // one layer at a time fits
        long beside = plan.fixed().stream().mapToLong(MemoryPlan.Item::nativeBytes).sum() + plan.steps().stream().mapToLong(MemoryPlan.Item::nativeBytes).max().orElse(0);
        assertTrue(plan.peakBytes() <= 20 * GIB + beside, text);
    }

    @Test
    void aPlanThatCannotFitNamesWhatWould() {
        // weights 4.6 GiB + activations 1 GiB + headroom: one dense 8192² decomposition (≈2.3 GiB of heap) does not fit in 8 GiB
        MemoryPlan plan = MemoryPlan.fit(llama1b(), new Strategy.Ekfac(), 1, 8 * GIB);
        InputException e = assertThrows(InputException.class, () -> plan.requireFits(llama1b().layers(), 1, 1));
        assertTrue(e.getMessage().startsWith("fit needs "), e.getMessage());
        assertTrue(e.getMessage().contains("try --factor-blocks 2"), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line");
        MemoryPlan blocked = MemoryPlan.fit(llama1b(), new Strategy.Ekfac(), 2, 8 * GIB);
        blocked.requireFits(llama1b().layers(), 2, 1);
    }

    @Test
    void blocksDivideTheFactorState() {
        long dense = MemoryPlan.fit(llama1b(), new Strategy.Kfac(), 1, 1000 * GIB).largestStep();
        long four = MemoryPlan.fit(llama1b(), new Strategy.Kfac(), 4, 1000 * GIB).largestStep();
        // all layers in one pass: 48 · 12·(A² + P²)/O (the four blocks' sums of a factor are one array)
        assertEquals(48 * (layerState(2048L * 2048) + layerState(8192L * 8192)), dense);
        assertEquals(48 * (layerState(2048L * 2048 / 4) + layerState(8192L * 8192 / 4)), four);
    }

    @Test
    void aQueryPlanHoldsEveryFullRankQueryAndSuggestsFewer() {
        // one full-rank query of the 48 MLP layers is 48 · 4·8192·2048 bytes = 3 GiB; 4 of them and the one being prepared do not fit beside 4.6 GiB of weights in 16 GiB
        MemoryPlan plan = MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 4, 16 * GIB);
        InputException e = assertThrows(InputException.class, () -> plan.requireFits(llama1b().layers(), 4, 1));
        assertTrue(e.getMessage().contains("try fewer queries per call"), e.getMessage());
        assertTrue(!e.getMessage().contains("--factor-blocks"), "a scoring command cannot refit: " + e.getMessage());
        MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 1, 16 * GIB).requireFits(llama1b().layers(), 4, 1);
    }

    @Test
    void theQueriesAndThePreconditionerCacheShareTheHeap() {
        // one full-rank query (3 GiB) and the one being prepared are held while the preconditioners are read:
        // the cache gets what is left, and the two together stay within the heap
        MemoryPlan plan = MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 1, 16 * GIB);
        plan.requireFits(llama1b().layers(), 4, 1);
        assertTrue(plan.fixed().stream().anyMatch(i -> i.what().startsWith("queries: 1")), plan.render());
        assertTrue(plan.fixedBytes() + plan.largestStep() <= 16 * GIB, plan.render());
        assertEquals(plan.preconditionerCache(), plan.available());
        assertTrue(plan.preconditionerCache() < plan.largestStep(), "the step adds the bytes of reading one layer beside the cache");
        // with more heap the cache grows, and never past every layer's preconditioner
        MemoryPlan roomy = MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 1, 1000 * GIB);
        assertTrue(roomy.preconditionerCache() > plan.preconditionerCache());
        assertEquals(roomy.preconditionerCache(), MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 1, 2000 * GIB).preconditionerCache());
        assertEquals("self-influence", MemoryPlan.query(llama1b(), new Strategy.Ekfac(), 4, 0, 16 * GIB).command());
    }

    /** A factor's float64 sum and float32 partial of n values, as the heap holds them. */
    private static long layerState(long n) {
        return dev.imprint.tensor.HeapArrays.doubles(n) + dev.imprint.tensor.HeapArrays.floats(n);
    }
}
