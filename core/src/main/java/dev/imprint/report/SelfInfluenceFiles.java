package dev.imprint.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.data.SequenceStore;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * What {@code self-influence} writes (method §4): {@code self_influence.safetensors} (tensor
 * {@code self_influence}, float64, one raw rᵀ(G + λI)⁻¹r per sequence, the run's fingerprints in its
 * metadata) and {@code self_influence.json} (the same metadata and the highest sequences with
 * document and text).
 */
public final class SelfInfluenceFiles {
    public static final String TENSORS = "self_influence.safetensors", JSON_FILE = "self_influence.json";

    private SelfInfluenceFiles() {}

    /** The indices of the {@code top} highest values, highest first. */
    public static int[] highest(double[] self, int top) {
        return IntStream.range(0, self.length).boxed().sorted(Comparator.comparingDouble((Integer i) -> -self[i]))
                .mapToInt(Integer::intValue).limit(top).toArray();
    }

    /** Writes both files into {@code out}; {@code meta} (fingerprints, strategy, damping) goes into each. */
    public static void write(Path out, double[] self, SequenceStore store, Map<String, String> meta, int top, double seconds) {
        try {
            Files.createDirectories(out);
            SafeTensors.write(out.resolve(TENSORS), Map.of("self_influence", SafeTensors.Tensor.f64(self, self.length)), meta);
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = json.createObjectNode();
            meta.forEach(root::put);
            root.put("sequences", self.length);
            root.put("unit", "raw rᵀ(G + λI)⁻¹r, r the gradient of the sequence's summed loss");
            root.put("seconds", seconds);
            ArrayNode list = root.putArray("top");
            int[] order = highest(self, top);
            for (int r = 0; r < order.length; r++) {
                int i = order[r];
                list.addObject().put("rank", r + 1).put("sequence", i).put("document", store.firstDocumentId(i))
                        .put("self_influence", self[i]).put("text", store.text(i));
            }
            AtomicFiles.write(out.resolve(JSON_FILE), tmp -> json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root));
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        }
    }
}
