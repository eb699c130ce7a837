package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Stage;
import dev.imprint.curvature.Strategy;
import dev.imprint.curvature.Damping;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.Progress;
import dev.imprint.influence.FittingPass;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.MemoryPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code imprint fit}: the curvature factors of a model on its training corpus. */
@Command(name = "fit", mixinStandardHelpOptions = true,
        description = {"Fit the curvature factors (method §3) of a model on a sample of its training sequences:",
                "covariances, eigendecomposition and the EK-FAC eigenvalue correction, with labels sampled from the model.",
                "Stages already in OUT with the same arguments are reused."},
        footer = {"", "Examples:", "  imprint fit --model models/demo --corpus ~/.cache/imprint/demo-corpus --out factors/demo",
                "  imprint fit --model models/demo --corpus ~/.cache/imprint/demo-corpus --fitting-tokens 1000000 --out factors/demo-1m"})
final class FitCommand implements Callable<Integer> {
    @Mixin Inputs inputs;
    @Option(names = "--out", required = true, description = "Factors folder.")
    Path out;
    @Option(names = "--strategy", defaultValue = "ekfac", description = "ekfac, kfac (per-token eigenvalues, as Kronfluence), kfac-sequence (per-sequence, on EK-FAC's scale), diagonal or identity (default: ${DEFAULT-VALUE}).")
    String strategy;
    @Option(names = "--fitting-sequences", description = "Size of the seeded fitting sample (default: "
            + InfluenceAnalysis.FitSettings.DEFAULT_FITTING_SEQUENCES + ").")
    Integer fitting;
    @Option(names = "--fitting-tokens", description = "Instead of a count: the smallest seeded sample holding at least this many tokens.")
    Long fittingTokens;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the sample and of the sampled labels (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--labels", defaultValue = "sampled", description = "sampled (the Fisher, as the paper) or true (empirical Fisher, for comparison).")
    String labels;
    @Option(names = "--factor-blocks", defaultValue = "1", description = "O: split each Kronecker factor into O diagonal blocks (method §3), for O-fold less factor memory (default: ${DEFAULT-VALUE}, dense).")
    int factorBlocks;

    @Override
    public Integer call() {
        Strategy s = Strategy.parse(strategy);
        FittingPass.Labels l = FittingPass.Labels.named(labels);
        if (fitting != null && fittingTokens != null) throw new InputException("give --fitting-sequences or --fitting-tokens, not both");
        if (fitting != null && fitting < 1) throw new InputException("--fitting-sequences must be at least 1");
        if (fittingTokens != null && fittingTokens < 1) throw new InputException("--fitting-tokens must be at least 1");
        if (factorBlocks < 1) throw new InputException("--factor-blocks must be at least 1, not " + factorBlocks);
        try (Inputs.Opened in = inputs.open((model, seqLen) -> {
            InfluenceAnalysis.FitSettings planned = new InfluenceAnalysis.FitSettings(s, 1, inputs.batchSize, seed, l, factorBlocks);
            MemoryPlan plan = InfluenceAnalysis.fitPlan(model, planned, seqLen);
            System.err.println(plan.render());
            plan.requireFits(model, factorBlocks, inputs.batchSize);
        })) {
            long t0 = System.nanoTime();
            int count = fittingTokens != null ? InfluenceAnalysis.sequencesForTokens(in.store(), fittingTokens, seed)
                    : Math.min(fitting != null ? fitting : InfluenceAnalysis.FitSettings.DEFAULT_FITTING_SEQUENCES, in.store().size());
            InfluenceAnalysis.fit(in.model(), in.store(), in.dir().fingerprint(), out,
                    new InfluenceAnalysis.FitSettings(s, count, inputs.batchSize, seed, l, factorBlocks), Damping.paperDefault(), new StageBars());
            long tokens = in.store().tokens(in.store().sample(count, seed));
            System.out.printf("%s: %s factors for %d layers fitted on %d sequences, %d tokens (%.1f s)%n", out, s.name(),
                    in.model().trackedLayers().size(), count, tokens, (System.nanoTime() - t0) / 1e9);
        }
        return 0;
    }

    /** One progress bar per fitting stage. */
    static final class StageBars implements FitProgress {
        private final Progress bar = new ConsoleProgress();
        private Stage current;
        private long shown;

        @Override
        public void update(Stage stage, long done, long total) {
            if (stage != current) {
                if (current != null) bar.done();
                bar.start(stage.title(), total, Progress.Unit.ITEMS);
                current = stage;
                shown = 0;
            }
            bar.step(done - shown);
            shown = done;
            if (done == total) {
                bar.done();
                current = null;
            }
        }

        @Override
        public void refitting(Stage stage, String problem) {
            System.err.println(stage.title() + ": fitting again (" + problem + ")");
        }

        @Override
        public void reused(Stage stage) {
            System.err.println(stage.title() + ": reused from the factors folder");
        }
    }
}
