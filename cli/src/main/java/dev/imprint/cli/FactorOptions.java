package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.MemoryPlan;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options that pick fitted factors and how they precondition, shared by the scoring commands. */
final class FactorOptions {
    @Option(names = "--factors", required = true, description = "Factors folder written by 'imprint fit'.")
    Path factors;
    @Option(names = "--strategy", defaultValue = "ekfac", description = "ekfac, kfac (per-token eigenvalues, as Kronfluence), kfac-sequence (per-sequence, on EK-FAC's scale), diagonal or identity (default: ${DEFAULT-VALUE}).")
    String strategy;
    @Option(names = "--damping", description = "An explicit damping λ for every layer (default: 0.1 × mean(Λ) per layer).")
    Double damping;

    Strategy strategy() {
        return Strategy.parse(strategy);
    }

    Damping damping() {
        if (damping == null) return Damping.paperDefault();
        try {
            return new Damping.Absolute(damping);
        } catch (IllegalArgumentException e) {
            throw new InputException("--damping: " + e.getMessage());
        }
    }

    /** The damping in words, for run records. */
    String dampingText() {
        return damping == null ? "0.1 × mean(Λ) per layer" : "λ = " + damping;
    }

    /** The fingerprint of the factors' arguments in {@link #factors}, checked against the model and store. */
    String fingerprint(Inputs.Opened in) {
        return InfluenceAnalysis.openFactors(in.model(), in.store(), in.dir().fingerprint(), factors, strategy()).arguments().fingerprint();
    }

    /**
     * The preconditioners of the factors in {@link #factors}, checked against the model and store,
     * after printing the memory plan of scoring {@code queries} queries (0 for self-influence) and
     * refusing it when it does not fit; the plan bounds the preconditioners kept in memory.
     */
    Preconditioners open(Inputs.Opened in, int queries, int batchSize) {
        MemoryPlan plan = InfluenceAnalysis.queryPlan(in.model(), factors, strategy(), queries, batchSize, in.store().seqLen());
        System.err.println(plan.render());
        plan.requireFits(in.model(), 1, batchSize);
        return InfluenceAnalysis.openFitted(in.model(), in.store(), in.dir().fingerprint(), factors, strategy(), damping(), plan.preconditionerCache());
    }
}
