package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.TrackedLayer;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the fitting stages a strategy needs (method §3), skipping every stage whose valid output is
 * already in the factors directory: covariances (one pass), eigendecomposition (no pass), then the
 * eigenvalue correction or the diagonal (one pass each).
 */
public final class FactorFitter {
    private final CurvatureFactors factors;
    private final FitProgress progress;
    private final LayerSlots slots;

    public FactorFitter(CurvatureFactors factors, FitProgress progress) {
        this.factors = factors;
        this.progress = progress;
        this.slots = new LayerSlots(factors.layers());
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
        switch (stage) {
            case COVARIANCE -> {
                CovarianceTap tap = new CovarianceTap(layers);
                run(stage, pass, tap);
                factors.writeCovariances(tap.covariances());
            }
            case EIGENDECOMPOSITION -> {
                ensure(Stage.COVARIANCE, pass, settled);
                List<Covariances> covariances = factors.covariances();
                List<KroneckerEigenbasis> bases = new ArrayList<>();
                for (Covariances c : covariances) {
                    bases.add(KroneckerEigenbasis.of(c));
                    progress.update(stage, bases.size(), covariances.size());
                }
                factors.writeEigenbases(bases);
            }
            case LAMBDA -> {
                ensure(Stage.EIGENDECOMPOSITION, pass, settled);
                EigenvalueCorrection tap = new EigenvalueCorrection(layers, factors.eigenbases());
                run(stage, pass, tap);
                factors.writeLambdas(tap.lambdas());
            }
            case DIAGONAL_LAMBDA -> {
                DiagonalFisher tap = new DiagonalFisher(layers);
                run(stage, pass, tap);
                factors.writeDiagonalLambdas(tap.lambdas());
            }
        }
    }

    /**
     * Runs {@code pass} into {@code tap}, reporting progress when a batch reaches the first tracked
     * layer (backward visits it last), and checks that every layer saw every fitting sequence once.
     */
    private void run(Stage stage, TapPass pass, GradientTap tap) {
        long total = factors.arguments().fittingSequences();
        long[] sequences = new long[slots.size()];
        int lastVisited = 0; // the slot with the lowest layer index
        for (int s = 1; s < slots.size(); s++) if (slots.get(s).index() < slots.get(lastVisited).index()) lastVisited = s;
        int reportSlot = lastVisited;
        pass.run((layer, batch, activations, outputGradients) -> {
            tap.onLayer(layer, batch, activations, outputGradients);
            int s = slots.slot(layer);
            sequences[s] += batch.batchSize();
            if (s == reportSlot) progress.update(stage, sequences[s], total);
        });
        for (int s = 0; s < slots.size(); s++)
            if (sequences[s] != total)
                throw new IllegalStateException("the " + stage.title() + " pass delivered " + sequences[s] + " sequences to layer "
                        + slots.get(s).name() + ", expected " + total + " (the fitting set size)");
    }
}
