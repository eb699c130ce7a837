package dev.imprint.index;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.KroneckerEigenbasis;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.influence.TopK;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.JsonFiles;
import dev.imprint.io.OutputSet;
import dev.imprint.io.SafeTensors;
import dev.imprint.model.GradientTap;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A projected training-gradient index (method §5.3): for every training sequence z and tracked
 * layer ℓ, the k_S × k_A block U_ℓᵀ DW̄_ℓ(z) V_ℓ of its gradient in the Kronecker eigenbasis
 * ({@link LayerBasis}), stored in float32. A query prepared at full rank, P_ℓ, is compressed the
 * same way, and Σ_ℓ ⟨U_ℓᵀ P_ℓ V_ℓ, U_ℓᵀ DW̄_ℓ V_ℓ⟩ approximates its influence score: exactly the
 * EK-FAC score restricted to the kept eigen-directions, the whole score when every direction is
 * kept. The index ranks candidates; the exact scorer rescores them.
 *
 * <p>On disk, a folder written as one unit: {@value #INFO} (fingerprints, shapes), {@value #BASIS}
 * (U_ℓ and V_ℓ per layer) and shards {@code gradients-NNNNN.safetensors}, each a (n, D) float32
 * tensor of n consecutive sequences, D = Σ_ℓ k_S k_A. A killed build resumes from its finished
 * shards, kept in {@code .NAME.partial} beside the folder.
 */
public final class GradientIndex {
    public static final String INFO = "index.json", BASIS = "basis.safetensors";
    static final String FORMAT = "imprint-gradient-index-1", GRADIENTS = "gradients";
    /** Floats per shard: 32 MiB, so that a shard read for the scan stays small beside the heap. */
    private static final long SHARD_FLOATS = 1L << 23;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What a build keeps: per layer, {@code wide} directions on its wider side (P or A) and
     * {@code narrow} on the other (P when they are equal counts as the wider), each capped at the
     * side's width. On the demo model a 16 × 64 block, more directions on the narrow (residual
     * stream) side, recalls more than a 32 × 32 one of the same size (method §5.3).
     *
     * @param wide      directions on each layer's wider side
     * @param narrow    directions on its narrower side
     * @param batchSize sequences per forward/backward
     */
    public record Settings(int wide, int narrow, int batchSize) {
        public Settings {
            if (wide < 1 || narrow < 1) throw new IllegalArgumentException("directions per side must be at least 1, not " + wide + " and " + narrow);
            if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
        }

        /** k_S, the gradient side's directions, of {@code layer}. */
        public int gradientDirections(TrackedLayer layer) {
            return layer.outFeatures() >= layer.activationDim() ? wide : narrow;
        }

        /** k_A, the activation side's directions, of {@code layer}. */
        public int activationDirections(TrackedLayer layer) {
            return layer.outFeatures() >= layer.activationDim() ? narrow : wide;
        }
    }

    /**
     * What an index was built from and how it is laid out.
     *
     * @param factors        fingerprint of the factors' arguments (model, store, fitting sample, seed, blocks)
     * @param strategy       whose eigenvalues chose the directions
     * @param shardSequences sequences per shard (the last holds the rest)
     * @param layers         per tracked layer: its name and k_S, k_A
     */
    public record Info(String model, String store, String factors, String strategy, String damping, int sequences, int shardSequences,
                       List<LayerEntry> layers) {
        /** D: floats per sequence. */
        public int dimension() {
            int d = 0;
            for (LayerEntry l : layers) d = Math.addExact(d, Math.multiplyExact(l.gradientDirections(), l.activationDirections()));
            return d;
        }

        public int shards() {
            return sequences == 0 ? 0 : (sequences + shardSequences - 1) / shardSequences;
        }

        /** Bytes per sequence on disk. */
        public long bytesPerSequence() {
            return 4L * dimension();
        }

        String json() {
            ObjectNode root = JSON.createObjectNode();
            root.put("format", FORMAT).put("model_fingerprint", model).put("store_fingerprint", store).put("factors_fingerprint", factors)
                    .put("strategy", strategy).put("damping", damping).put("sequences", sequences).put("shard_sequences", shardSequences)
                    .put("dtype", "F32").put("dimension", dimension());
            ArrayNode ls = root.putArray("layers");
            for (LayerEntry l : layers)
                ls.addObject().put("name", l.name()).put("gradient_directions", l.gradientDirections()).put("activation_directions", l.activationDirections());
            try {
                return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static Info parse(Path file) {
            JsonNode root = JsonFiles.readObject(file);
            if (!FORMAT.equals(root.path("format").asText()))
                throw new InputException(file + ": not a gradient index (format " + root.path("format") + ", expected " + FORMAT + ")");
            List<LayerEntry> layers = new ArrayList<>();
            for (JsonNode l : root.path("layers")) {
                if (!l.path("name").isTextual() || l.path("gradient_directions").asInt() < 1 || l.path("activation_directions").asInt() < 1)
                    throw new InputException(file + ": layer entry " + l + " needs a name and directions of at least 1");
                layers.add(new LayerEntry(l.get("name").asText(), l.get("gradient_directions").asInt(), l.get("activation_directions").asInt()));
            }
            int n = root.path("sequences").asInt(-1), shard = root.path("shard_sequences").asInt(0);
            if (n < 0 || shard < 1 || layers.isEmpty())
                throw new InputException(file + ": needs sequences ≥ 0, shard_sequences ≥ 1 and at least one layer");
            return new Info(root.path("model_fingerprint").asText(), root.path("store_fingerprint").asText(), root.path("factors_fingerprint").asText(),
                    root.path("strategy").asText(), root.path("damping").asText(), n, shard, List.copyOf(layers));
        }
    }

    /** The record of an index of {@code sequences} sequences with {@code bases}' directions, in shards of {@link #shardSequences}. */
    public static Info info(String model, String store, String factors, String strategy, String damping, int sequences, List<LayerBasis> bases) {
        List<LayerEntry> layers = bases.stream().map(b -> new LayerEntry(b.layer().name(), b.u().cols(), b.v().cols())).toList();
        int dimension = bases.stream().mapToInt(LayerBasis::size).sum();
        return new Info(model, store, factors, strategy, damping, sequences, shardSequences(dimension, sequences), layers);
    }

    /** One layer's entry in {@link Info}. */
    public record LayerEntry(String name, int gradientDirections, int activationDirections) {}

    private final Path dir;
    private final Info info;
    private final List<LayerBasis> bases;
    private final int[] offsets; // where each layer's block starts in a sequence's D floats

    private GradientIndex(Path dir, Info info, List<LayerBasis> bases) {
        this.dir = dir;
        this.info = info;
        this.bases = List.copyOf(bases);
        this.offsets = new int[bases.size()];
        for (int l = 1; l < bases.size(); l++) offsets[l] = offsets[l - 1] + bases.get(l - 1).size();
    }

    public Path directory() {
        return dir;
    }

    public Info info() {
        return info;
    }

    public List<LayerBasis> bases() {
        return bases;
    }

    static String shardName(int s) {
        return String.format("gradients-%05d.safetensors", s);
    }

    /** The directions of every tracked layer of {@code model}, chosen from the fitted factors (method §5.3). */
    public static List<LayerBasis> chooseDirections(LanguageModel model, CurvatureFactors factors, Strategy.InEigenbasis strategy, Damping damping,
                                                    Settings settings) {
        List<LayerBasis> bases = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) {
            KroneckerEigenbasis basis = factors.eigenbasis(l);
            double[] eigenvalues = strategy.eigenvalues(factors, l, basis);
            bases.add(LayerBasis.select(l, basis, eigenvalues, damping.lambda(eigenvalues), settings.gradientDirections(l), settings.activationDirections(l)));
        }
        return bases;
    }

    /**
     * Builds the index of every sequence of {@code store} into {@code out} (one pass, a batch at a
     * time; a killed build resumes from its finished shards), committed as one unit, and opens it.
     *
     * @param info what the index records (its layers and shapes must match {@code bases})
     */
    public static GradientIndex build(LanguageModel model, SequenceStore store, List<LayerBasis> bases, Info info, int batchSize, Path out,
                                      Progress progress) {
        if (bases.size() != model.trackedLayers().size()) throw new IllegalArgumentException(bases.size() + " bases for " + model.trackedLayers().size() + " layers");
        GradientIndex index = new GradientIndex(out, info, bases);
        Path abs = out.toAbsolutePath().normalize(), partial = abs.resolveSibling("." + abs.getFileName() + ".partial");
        try (OutputSet set = OutputSet.open(out, "index build", Set.of(INFO, BASIS))) {
            String json = info.json();
            Path started = partial.resolve(INFO);
            if (Files.exists(started) && !Files.readString(started).equals(json)) AtomicFiles.deleteTree(partial); // another build's shards
            Files.createDirectories(partial);
            if (!Files.exists(partial.resolve(BASIS))) {
                Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
                for (LayerBasis b : bases) {
                    t.put(b.layer().name() + ".gradient_directions", SafeTensors.Tensor.f32(b.u().data(), b.u().rows(), b.u().cols()));
                    t.put(b.layer().name() + ".activation_directions", SafeTensors.Tensor.f32(b.v().data(), b.v().rows(), b.v().cols()));
                }
                SafeTensors.write(partial.resolve(BASIS), t, Map.of());
            }
            AtomicFiles.writeString(started, json);
            boolean[] finished = new boolean[info.shards()];
            int done = 0;
            for (int s = 0; s < finished.length; s++)
                if (finished[s] = finished(partial.resolve(shardName(s)), index.shardRows(s), info.dimension())) done += index.shardRows(s);
            progress.start("Indexing training gradients (" + info.dimension() + " floats per sequence)", store.size(), Progress.Unit.ITEMS);
            progress.step(done);
            for (int s = 0; s < finished.length; s++) {
                Path shard = partial.resolve(shardName(s));
                if (finished[s]) continue;
                float[] rows = index.compressShard(model, store, s, batchSize, progress);
                SafeTensors.write(shard, Map.of(GRADIENTS, SafeTensors.Tensor.f32(rows, index.shardRows(s), info.dimension())),
                        Map.of("first_sequence", Integer.toString(s * info.shardSequences())));
            }
            progress.done();
            for (Path f : listFiles(partial)) if (!f.getFileName().toString().equals(INFO)) linkOrCopy(f, set.staging().resolve(f.getFileName()));
            AtomicFiles.writeString(set.staging().resolve(INFO), json);
            set.commit();
            AtomicFiles.deleteTree(partial);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + " (" + e.getMessage() + ")", e);
        }
        return index;
    }

    private int shardRows(int s) {
        return Math.min(info.shardSequences(), info.sequences() - s * info.shardSequences());
    }

    /** Sequences per shard for D floats each. */
    static int shardSequences(int dimension, int sequences) {
        return (int) Math.max(1, Math.min(Math.max(1, sequences), SHARD_FLOATS / dimension));
    }

    private static boolean finished(Path shard, int rows, int dimension) {
        if (!Files.exists(shard)) return false;
        try (SafeTensors st = SafeTensors.open(shard)) {
            st.requireShape(GRADIENTS, rows, dimension);
            return true;
        } catch (RuntimeException e) {
            return false; // damaged or cut short: written again
        }
    }

    /** Shard s's rows: each sequence's D floats, layer blocks in tracked-layer order. */
    private float[] compressShard(LanguageModel model, SequenceStore store, int s, int batchSize, Progress progress) {
        int first = s * info.shardSequences(), n = shardRows(s), d = info.dimension();
        float[] rows = new float[Math.multiplyExact(n, d)];
        for (int from = 0; from < n; from += batchSize) {
            int count = Math.min(batchSize, n - from), base = from;
            SequenceBatch batch = store.batch(first + from, count);
            GradientTap tap = (layer, b, abar, ds) ->
                    bases.get(layer.index()).compressBatch(abar, ds, b.batchSize(), b.seqLen(), rows, base * d + offsets[layer.index()], d);
            model.forward(batch);
            model.backward(Targets.nextTokens(batch), tap);
            progress.step(count);
        }
        return rows;
    }

    /** Opens the index in {@code dir}, refusing one whose layers are not {@code layers} (names and shapes). */
    public static GradientIndex open(Path dir, List<TrackedLayer> layers) {
        if (!Files.isDirectory(dir)) throw InputException.notFound(dir + ": no such index folder (run 'imprint index build')");
        // the manifest's SHA-256 would read the whole index at every query: each file's CRC32C is checked as it is read instead
        if (!Files.isRegularFile(dir.resolve(OutputSet.MANIFEST)))
            throw InputException.notFound(dir + ": no " + OutputSet.MANIFEST + " (not an index written by 'imprint index build')");
        Info info = Info.parse(dir.resolve(INFO));
        if (info.layers().size() != layers.size())
            throw InputException.mismatch(dir + ": index of " + info.layers().size() + " layers, the model tracks " + layers.size() + " (same --layers as the build?)");
        List<LayerBasis> bases = new ArrayList<>();
        try (SafeTensors st = SafeTensors.open(dir.resolve(BASIS))) {
            for (int i = 0; i < layers.size(); i++) {
                TrackedLayer l = layers.get(i);
                LayerEntry e = info.layers().get(i);
                if (!e.name().equals(l.name())) throw InputException.mismatch(dir + ": index layer " + i + " is " + e.name() + ", the model's is " + l.name());
                String u = l.name() + ".gradient_directions", v = l.name() + ".activation_directions";
                st.requireShape(u, l.outFeatures(), e.gradientDirections());
                st.requireShape(v, l.activationDim(), e.activationDirections());
                bases.add(new LayerBasis(l, Mat.of(st.floats(u), l.outFeatures(), e.gradientDirections()),
                        Mat.of(st.floats(v), l.activationDim(), e.activationDirections())));
            }
        }
        for (int s = 0; s < info.shards(); s++)
            if (!Files.isRegularFile(dir.resolve(shardName(s)))) throw new InputException(dir + ": damaged index: " + shardName(s) + " is missing");
        return new GradientIndex(dir, info, bases);
    }

    /** Refuses, in one line, an index built for another model, store or factors. */
    public void requireMatches(String model, String store, String factors) {
        if (!info.model().equals(model)) throw InputException.mismatch(dir + ": index was built for another model (rebuild it with 'imprint index build')");
        if (!info.store().equals(store)) throw InputException.mismatch(dir + ": index was built over another sequence store (other corpus, tokenizer or --seq-len)");
        if (!info.factors().equals(factors)) throw InputException.mismatch(dir + ": index was built with other factors (rebuild it with these --factors)");
    }

    /** A prepared query's D floats: U_ℓᵀ P_ℓ V_ℓ per layer. */
    public float[] compress(PreparedQuery query) {
        float[] out = new float[info.dimension()];
        for (int l = 0; l < bases.size(); l++) bases.get(l).compress(query.preconditioned().get(l), out, offsets[l]);
        return out;
    }

    /**
     * Each query's {@code k} best candidates by the index, for exact rescoring: the query's gradient
     * is preconditioned at full rank with {@code preconditioners} (method §4), compressed, and
     * scanned against every sequence. Candidates are sequence indices, best first.
     */
    public List<int[]> candidates(LanguageModel model, Preconditioners preconditioners, List<Query> queries, int k, Progress progress) {
        progress.start("Preparing queries for the index", queries.size(), Progress.Unit.ITEMS);
        List<float[]> compressed = new ArrayList<>();
        for (Query q : queries) {
            compressed.add(compress(InfluenceAnalysis.prepare(model, preconditioners, q)));
            progress.step(1);
        }
        progress.done();
        List<int[]> out = new ArrayList<>();
        for (List<TopK.Entry> top : top(compressed, k)) out.add(top.stream().mapToInt(TopK.Entry::sequence).toArray());
        return out;
    }

    /** The index score of every sequence for every compressed query: [q][sequence]. One GEMM per shard. */
    public float[][] scores(List<float[]> queries) {
        float[][] out = new float[queries.size()][info.sequences()];
        scan(queries, (first, n, block) -> {
            for (int q = 0; q < queries.size(); q++)
                for (int r = 0; r < n; r++) out[q][first + r] = block.get(r, q);
        });
        return out;
    }

    /** Each compressed query's {@code k} highest index scores, best first (ties to the lower sequence). */
    public List<List<TopK.Entry>> top(List<float[]> queries, int k) {
        TopK[] tops = new TopK[queries.size()];
        for (int q = 0; q < tops.length; q++) tops[q] = new TopK(Math.max(1, Math.min(k, info.sequences())));
        scan(queries, (first, n, block) -> {
            for (int q = 0; q < tops.length; q++)
                for (int r = 0; r < n; r++) tops[q].offer(first + r, block.get(r, q));
        });
        List<List<TopK.Entry>> out = new ArrayList<>();
        for (TopK t : tops) out.add(t.sorted());
        return out;
    }

    @FunctionalInterface
    private interface ShardScores {
        void accept(int first, int n, Mat scores);
    }

    /** Per shard: its (n, D) block times the (Q, D) queries transposed, (n, Q). */
    private void scan(List<float[]> queries, ShardScores sink) {
        int d = info.dimension(), nq = queries.size();
        float[] qs = new float[Math.multiplyExact(nq, d)];
        for (int q = 0; q < nq; q++) {
            if (queries.get(q).length != d) throw new IllegalArgumentException("query " + q + " has " + queries.get(q).length + " floats, the index " + d);
            System.arraycopy(queries.get(q), 0, qs, q * d, d);
        }
        Mat qm = Mat.of(qs, nq, d);
        for (int s = 0; s < info.shards(); s++) {
            int n = shardRows(s);
            float[] g;
            try (SafeTensors st = SafeTensors.open(dir.resolve(shardName(s)))) {
                st.requireShape(GRADIENTS, n, d);
                g = st.floats(GRADIENTS);
            }
            Mat block = Mat.zeros(n, nq);
            Gemm.mulTransB(block, Mat.of(g, n, d), qm, false);
            sink.accept(s * info.shardSequences(), n, block);
        }
    }

    private static List<Path> listFiles(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** A hard link where the file system allows one (the partial folder keeps its shards until the commit), else a copy. */
    private static void linkOrCopy(Path from, Path to) throws IOException {
        try {
            Files.createLink(to, from);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(from, to);
        }
    }
}
