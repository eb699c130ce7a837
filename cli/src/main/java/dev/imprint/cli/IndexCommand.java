package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.index.GradientIndex;
import dev.imprint.index.LayerBasis;
import dev.imprint.influence.InfluenceAnalysis;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code imprint index}: the projected training-gradient index (method §5.3). */
@Command(name = "index", mixinStandardHelpOptions = true, subcommands = IndexCommand.Build.class,
        description = {"A projected training-gradient index: each training sequence's gradient kept in the top eigen-directions",
                "of the fitted factors, searched by 'imprint query --index' before exact rescoring."})
final class IndexCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (build)");
    }

    /** {@code imprint index build}. */
    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"One pass over the training sequences that writes, per sequence and tracked layer, a block",
                    "Uᵀ DW̄ V of its gradient in the K-FAC eigenbasis, the directions of each side carrying the most damped",
                    "curvature (method §5.3). Float32, in shards; a killed build resumes. Needs kfac or ekfac factors."},
            footer = {"", "Example:",
                    "  imprint index build --model models/demo --corpus CORPUS --factors factors/demo --directions 16x64 --out index/"})
    static final class Build implements Callable<Integer> {
        @Mixin Inputs inputs;
        @Mixin FactorOptions factorOptions; // --strategy (ekfac or kfac: whose eigenvalues choose the directions) and --damping (λ in the weights)
        @Option(names = "--directions", defaultValue = "16x64", description = "WxN: eigen-directions kept of each layer, W on its wider side and N on its narrower (a W × N block), or k for k × k; capped at the side's width (default: ${DEFAULT-VALUE}).")
        String directions;
        @Option(names = "--out", required = true, description = "Index folder.")
        Path out;

        @Override
        public Integer call() {
            int[] wn = parseDirections(directions);
            if (!(factorOptions.strategy() instanceof Strategy.InEigenbasis eigen))
                throw new InputException("--strategy must be ekfac or kfac for an index (it needs the Kronecker eigenbasis), not " + factorOptions.strategy);
            var damping = factorOptions.damping();
            try (Inputs.Opened in = inputs.open()) {
                CurvatureFactors f = InfluenceAnalysis.openFactors(in.model(), in.store(), in.dir().fingerprint(), factorOptions.factors, eigen);
                List<LayerBasis> bases = GradientIndex.chooseDirections(in.model(), f, eigen, damping,
                        new GradientIndex.Settings(wn[0], wn[1], inputs.batchSize));
                GradientIndex.Info info = GradientIndex.info(in.dir().fingerprint(), in.store().fingerprint(), f.arguments().fingerprint(),
                        eigen.name(), factorOptions.dampingText(), in.store().size(), bases);
                System.err.printf("index: %,d sequences × %,d floats (%,d bytes each), %,d MiB in %d shards%n", info.sequences(), info.dimension(),
                        info.bytesPerSequence(), info.sequences() * info.bytesPerSequence() >> 20, info.shards());
                long t0 = System.nanoTime();
                GradientIndex.build(in.model(), in.store(), bases, info, inputs.batchSize, out, new ConsoleProgress());
                System.out.printf("index of %,d sequences (%,d floats each) in %.1f s: %s%n", info.sequences(), info.dimension(),
                        (System.nanoTime() - t0) / 1e9, out);
            }
            return 0;
        }

        /** W and N of "WxN", or k and k of "k"; each at least 1. */
        static int[] parseDirections(String value) {
            String[] parts = value.split("x", -1);
            try {
                int w = Integer.parseInt(parts[0]), n = parts.length == 2 ? Integer.parseInt(parts[1]) : w;
                if (parts.length <= 2 && w >= 1 && n >= 1) return new int[] {w, n};
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new InputException("--directions must be WxN or k with positive integers, not '" + value + "'");
        }
    }
}
