package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.HeapArrays;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * Runs the fitting stages a strategy needs (method §3), skipping every stage whose valid output is
 * already in the factors directory: covariances (one pass), eigendecomposition (no pass), then the
 * eigenvalue correction or the diagonal (one pass each).
 *
 * <p>Memory (method §3, fitting in bounded memory): a pass holds state for the layers it covers —
 * covariance sums, or eigenbases and Λ sums. When all tracked layers' state exceeds
 * {@code stateBytes}, the layers are split, in order, into groups that fit, and the pass runs once
 * per group (each pass visits the whole fitting set; the other layers' ā and Ds are ignored), each
 * group's factors written before the next group starts. The eigendecomposition reads, decomposes
 * and writes one layer at a time. Results do not depend on the grouping: every layer sees the same
 * sequences, labels and order in every pass.
 */
public final class FactorFitter {
    private final CurvatureFactors factors;
    private final FitProgress progress;
    private final long stateBytes;

    /** Fits with every layer's state in one pass. */
    public FactorFitter(CurvatureFactors factors, FitProgress progress) {
        this(factors, progress, Long.MAX_VALUE);
    }

    /** @param stateBytes the most per-layer state a pass may hold (a layer larger than this gets a pass of its own) */
    public FactorFitter(CurvatureFactors factors, FitProgress progress, long stateBytes) {
        this.factors = factors;
        this.progress = progress;
        this.stateBytes = stateBytes;
    }

    /** Bytes a covariance pass holds for {@code layer} with {@code blocks} diagonal blocks. */
    public static long covarianceBytes(TrackedLayer layer, int blocks) {
        return CovarianceTap.bytes(layer, blocks);
    }

    /** Bytes an eigenvalue-correction pass holds for {@code layer}: its float32 eigenbasis and the float64 Λ sum. */
    public static long lambdaBytes(TrackedLayer layer, int blocks) {
        return basisBytes(layer, blocks) + HeapArrays.doubles((long) layer.outFeatures() * layer.activationDim());
    }

    /** Bytes of {@code layer}'s eigenbasis: float32 eigenvectors (packed blocks) and float64 eigenvalues. */
    public static long basisBytes(TrackedLayer layer, int blocks) {
        return HeapArrays.floats(new Blocks(layer.activationDim(), blocks).packedLength()) + HeapArrays.floats(new Blocks(layer.outFeatures(), blocks).packedLength())
                + HeapArrays.doubles(layer.activationDim()) + HeapArrays.doubles(layer.outFeatures());
    }

    /** Bytes a diagonal pass holds for {@code layer}: the float64 sum. */
    public static long diagonalBytes(TrackedLayer layer) {
        return HeapArrays.doubles((long) layer.outFeatures() * layer.activationDim());
    }

    /** The layer groups, in order, whose summed {@code bytes} stay within {@code budget} (a layer over it alone). */
    public static List<List<TrackedLayer>> groups(List<TrackedLayer> layers, ToLongFunction<TrackedLayer> bytes, long budget) {
        List<List<TrackedLayer>> out = new ArrayList<>();
        List<TrackedLayer> group = new ArrayList<>();
        long held = 0;
        for (TrackedLayer l : layers) {
            long b = bytes.applyAsLong(l);
            if (!group.isEmpty() && held + b > budget) {
                out.add(group);
                group = new ArrayList<>();
                held = 0;
            }
            group.add(l);
            held += b;
        }
        out.add(group);
        return out;
    }

    /** Makes sure everything {@code strategy} reads is on disk; {@code pass} runs only for missing stages. */
    public void fit(Strategy strategy, TapPass pass) {
        Set<Stage> settled = EnumSet.noneOf(Stage.class);
        for (Stage stage : strategy.stages()) ensure(stage, pass, settled);
    }

    /** Fits {@code stage} (and what it needs) unless it is on disk; {@code settled}: stages already handled by this fit. */
    private void ensure(Stage stage, TapPass pass, Set<Stage> settled) {
        if (!settled.add(stage)) return;
        String problem = factors.problem(stage);
        if (problem == null) {
            progress.reused(stage);
            return;
        }
        if (factors.started(stage)) progress.refitting(stage, problem);
        List<TrackedLayer> layers = factors.layers();
        int blocks = factors.blocks();
        switch (stage) {
            case COVARIANCE -> {
                try (CurvatureFactors.LayerWriter<Covariances> out = factors.covarianceWriter()) {
                    passByGroups(stage, pass, out, l -> covarianceBytes(l, blocks), group -> new CovarianceTap(group, blocks), CovarianceTap::covariances);
                }
            }
            case EIGENDECOMPOSITION -> {
                ensure(Stage.COVARIANCE, pass, settled);
                try (CurvatureFactors.LayerWriter<KroneckerEigenbasis> out = factors.eigenbasisWriter()) {
                    for (int i = 0; i < layers.size(); i++) {
                        out.put(layers.get(i), KroneckerEigenbasis.of(factors.covariance(layers.get(i))));
                        progress.update(stage, i + 1, layers.size());
                    }
                    out.commit();
                }
            }
            case LAMBDA -> {
                ensure(Stage.EIGENDECOMPOSITION, pass, settled);
                try (CurvatureFactors.LayerWriter<LambdaMatrix> out = factors.lambdaWriter()) {
                    passByGroups(stage, pass, out, l -> lambdaBytes(l, blocks),
                            group -> new EigenvalueCorrection(group, group.stream().map(factors::eigenbasis).toList()), EigenvalueCorrection::lambdas);
                }
            }
            case DIAGONAL_LAMBDA -> {
                try (CurvatureFactors.LayerWriter<LambdaMatrix> out = factors.diagonalLambdaWriter()) {
                    passByGroups(stage, pass, out, FactorFitter::diagonalBytes, DiagonalFisher::new, DiagonalFisher::lambdas);
                }
            }
        }
    }

    /**
     * One stage's passes: the layers split into groups whose state fits {@code bytes}' budget, one
     * pass per group into a fresh {@code tap}, each group's per-layer {@code results} written
     * before the next group starts, then the stage's files committed.
     */
    private <T, P extends GradientTap> void passByGroups(Stage stage, TapPass pass, CurvatureFactors.LayerWriter<T> out, ToLongFunction<TrackedLayer> bytes,
                                                         Function<List<TrackedLayer>, P> tap, Function<P, List<T>> results) {
        List<List<TrackedLayer>> groups = groups(factors.layers(), bytes, stateBytes);
        for (int g = 0; g < groups.size(); g++) writeGroup(stage, pass, out, groups.get(g), g, groups.size(), tap, results);
        out.commit();
    }

    /** One group's pass; its tap lives only in this frame, so the next group's pass does not hold it. */
    private <T, P extends GradientTap> void writeGroup(Stage stage, TapPass pass, CurvatureFactors.LayerWriter<T> out, List<TrackedLayer> group, int g,
                                                       int passes, Function<List<TrackedLayer>, P> tap, Function<P, List<T>> results) {
        P t = tap.apply(group);
        run(stage, pass, t, group, g, passes);
        List<T> r = results.apply(t);
        for (int i = 0; i < group.size(); i++) out.put(group.get(i), r.get(i));
    }

    /**
     * Runs {@code pass} (the {@code g}-th of {@code passes}) into {@code tap}, which covers
     * {@code group}; reports progress when a batch reaches the group's first layer (backward
     * visits it last), and checks that every layer of the group saw every fitting sequence once.
     */
    private void run(Stage stage, TapPass pass, GradientTap tap, List<TrackedLayer> group, int g, int passes) {
        long total = factors.arguments().fittingSequences();
        LayerSlots slots = new LayerSlots(group);
        long[] sequences = new long[slots.size()];
        int lastVisited = 0; // the slot with the lowest layer index
        for (int s = 1; s < slots.size(); s++) if (slots.get(s).index() < slots.get(lastVisited).index()) lastVisited = s;
        int reportSlot = lastVisited;
        boolean[] covered = new boolean[group.stream().mapToInt(TrackedLayer::index).max().orElseThrow() + 1];
        for (TrackedLayer l : group) covered[l.index()] = true;
        pass.run((layer, batch, activations, outputGradients) -> {
            if (layer.index() >= covered.length || !covered[layer.index()]) return;
            tap.onLayer(layer, batch, activations, outputGradients);
            int s = slots.slot(layer);
            sequences[s] += batch.batchSize();
            if (s == reportSlot) progress.update(stage, g * total + sequences[s], passes * total);
        });
        for (int s = 0; s < slots.size(); s++)
            if (sequences[s] != total)
                throw new IllegalStateException("the " + stage.title() + " pass delivered " + sequences[s] + " sequences to layer "
                        + slots.get(s).name() + ", expected " + total + " (the fitting set size)");
    }
}
