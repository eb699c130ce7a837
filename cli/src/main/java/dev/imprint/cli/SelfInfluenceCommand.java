package dev.imprint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.SafeTensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/** {@code imprint self-influence}: every training sequence's influence on itself. */
@Command(name = "self-influence", mixinStandardHelpOptions = true,
        description = {"Self-influence rᵀ(G + λI)⁻¹r of every training sequence (method §4), raw: high values flag outliers",
                "and memorized sequences. Writes OUT/self_influence.safetensors (tensor self_influence, float64, one value",
                "per sequence) and OUT/self_influence.json (the top sequences with their documents and text)."},
        footer = {"", "Example:", "  imprint self-influence --model models/demo --corpus CORPUS --factors factors/demo --out self/"})
final class SelfInfluenceCommand implements Callable<Integer> {
    static final String TENSORS = "self_influence.safetensors", JSON_FILE = "self_influence.json";

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
        try (Inputs.Opened in = inputs.open()) {
            Preconditioners pre = factorOptions.open(in);
            long t0 = System.nanoTime();
            double[] self = InfluenceAnalysis.selfInfluence(in.model(), in.store(), pre, inputs.batchSize, new ConsoleProgress());
            double seconds = (System.nanoTime() - t0) / 1e9;
            int n = self.length;
            int[] order = IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble((Integer i) -> -self[i])).mapToInt(Integer::intValue)
                    .limit(top).toArray();
            String dampingText = factorOptions.dampingText();
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("model_fingerprint", in.dir().fingerprint());
            meta.put("store_fingerprint", in.store().fingerprint());
            meta.put("strategy", s.name());
            meta.put("damping", dampingText);
            Files.createDirectories(out);
            SafeTensors.write(out.resolve(TENSORS), Map.of("self_influence", SafeTensors.Tensor.f64(self, n)), meta);

            ObjectMapper json = new ObjectMapper();
            ObjectNode root = json.createObjectNode();
            meta.forEach(root::put);
            root.put("sequences", n);
            root.put("unit", "raw rᵀ(G + λI)⁻¹r, r the gradient of the sequence's summed loss");
            root.put("seconds", seconds);
            ArrayNode list = root.putArray("top");
            for (int r = 0; r < order.length; r++) {
                int i = order[r];
                list.addObject().put("rank", r + 1).put("sequence", i).put("document", in.store().firstDocumentId(i))
                        .put("self_influence", self[i]).put("text", in.store().text(i));
            }
            AtomicFiles.write(out.resolve(JSON_FILE), tmp -> json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root));
            System.out.printf("self-influence of %d sequences (%s, %s) in %.1f s; highest:%n", n, s.name(), dampingText, seconds);
            for (int r = 0; r < Math.min(10, order.length); r++) {
                int i = order[r];
                String text = in.store().text(i).replaceAll("\\s+", " ").strip();
                System.out.printf("  %2d. %.4e  seq %d  %s  %s%n", r + 1, self[order[r]], i, in.store().firstDocumentId(i),
                        text.length() > 80 ? text.substring(0, 80) + "..." : text);
            }
            System.out.println("written: " + out.resolve(TENSORS) + ", " + out.resolve(JSON_FILE));
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        }
        return 0;
    }
}
