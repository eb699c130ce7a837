package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.io.OutputSet;
import dev.imprint.report.SelfInfluenceFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code imprint self-influence}: every training sequence's influence on itself. */
@Command(name = "self-influence", mixinStandardHelpOptions = true,
        description = {"Self-influence rᵀ(G + λI)⁻¹r of every training sequence (method §4), raw: high values flag outliers",
                "and memorized sequences. Writes OUT/self_influence.safetensors (tensor self_influence, float64, one value",
                "per sequence) and OUT/self_influence.json (the top sequences with their documents and text)."},
        footer = {"", "Example:", "  imprint self-influence --model models/demo --corpus CORPUS --factors factors/demo --out self/"})
final class SelfInfluenceCommand implements Callable<Integer> {

    @Mixin Inputs inputs;
    @Mixin FactorOptions factorOptions;
    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;
    @Option(names = "--top", defaultValue = "20", description = "Sequences listed in the JSON, highest first (default: ${DEFAULT-VALUE}).")
    int top;

    @Override
    public Integer call() {
        if (top < 1) throw new InputException("--top must be at least 1");
        Strategy s = factorOptions.strategy();
        factorOptions.damping(); // a bad value is reported before any work
        try (OutputSet set = OutputSet.open(out, "self-influence", java.util.Set.of(SelfInfluenceFiles.TENSORS, SelfInfluenceFiles.JSON_FILE));
             Inputs.Opened in = inputs.open()) {
            Preconditioners pre = factorOptions.open(in, 0, inputs.batchSize);
            long t0 = System.nanoTime();
            double[] self = InfluenceAnalysis.selfInfluence(in.model(), in.store(), pre, inputs.batchSize, new ConsoleProgress());
            double seconds = (System.nanoTime() - t0) / 1e9;
            String dampingText = factorOptions.dampingText();
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("model_fingerprint", in.dir().fingerprint());
            meta.put("store_fingerprint", in.store().fingerprint());
            meta.put("strategy", s.name());
            meta.put("damping", dampingText);
            SelfInfluenceFiles.write(set.staging(), self, in.store(), meta, top, seconds);
            set.commit();
            int n = self.length;
            int[] order = SelfInfluenceFiles.highest(self, Math.min(10, top));
            System.out.printf("self-influence of %d sequences (%s, %s) in %.1f s; highest:%n", n, s.name(), dampingText, seconds);
            for (int r = 0; r < Math.min(10, order.length); r++) {
                int i = order[r];
                String text = Terminal.line(in.store().text(i)).strip();
                System.out.printf("  %2d. %.4e  seq %d  %s  %s%n", r + 1, self[order[r]], i, Terminal.line(in.store().firstDocumentId(i)),
                        text.length() > 80 ? text.substring(0, 80) + "..." : text);
            }
            System.out.println("written: " + out.resolve(SelfInfluenceFiles.TENSORS) + ", " + out.resolve(SelfInfluenceFiles.JSON_FILE));
        }
        return 0;
    }
}
