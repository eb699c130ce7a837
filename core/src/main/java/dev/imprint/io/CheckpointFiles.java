package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face model folder: one {@value #SINGLE}, or {@value #INDEX}
 * ({@code {"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}}) and the shards it
 * names. Opening validates the whole set: every shard exists inside the folder, every tensor the index
 * lists is in the shard it names, and no shard holds a tensor the index does not place there. Every
 * problem is an {@link InputException} of one line naming the file and the problem.
 */
public final class CheckpointFiles implements AutoCloseable {
    /** The single-file layout. */
    public static final String SINGLE = "model.safetensors";
    /** The sharded layout's index. */
    public static final String INDEX = "model.safetensors.index.json";
    /** Shard names as Hugging Face writes them, {@code model-00001-of-00003.safetensors}. */
    private static final Pattern SHARD = Pattern.compile("model-\\d{5,}-of-\\d{5,}\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    /** The single file or the index: what a message about the set as a whole names. */
    private final Path where;
    private final List<SafeTensors> shards;
    /** Tensor → the shard holding it, in header order (single file) or index order (shards). */
    private final Map<String, SafeTensors> byName;
    private final List<Path> files;
    private boolean closed;

    private CheckpointFiles(Path where, List<SafeTensors> shards, Map<String, SafeTensors> byName, List<Path> files) {
        this.where = where;
        this.shards = List.copyOf(shards);
        this.byName = Collections.unmodifiableMap(byName);
        List<Path> sorted = new ArrayList<>(files);
        Collections.sort(sorted);
        this.files = List.copyOf(sorted);
    }

    /** Opens the weights in {@code modelDir}: the index and its shards when the index is there, else the single file. */
    public static CheckpointFiles open(Path modelDir) {
        Path index = modelDir.resolve(INDEX), single = modelDir.resolve(SINGLE);
        if (Files.exists(index)) return openSharded(modelDir, index);
        if (!Files.exists(single)) throw InputException.notFound(modelDir + ": no " + SINGLE + " or " + INDEX);
        SafeTensors st = SafeTensors.open(single);
        Map<String, SafeTensors> byName = new LinkedHashMap<>();
        for (String name : st.tensors().keySet()) byName.put(name, st);
        return new CheckpointFiles(single, List.of(st), byName, List.of(single));
    }

    private static CheckpointFiles openSharded(Path modelDir, Path index) {
        // Tensor → shard path relative to the folder (normalised), in index order.
        Map<String, Path> weightMap = readWeightMap(modelDir, index);
        Map<Path, SafeTensors> opened = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Path> e : weightMap.entrySet()) {
                if (opened.containsKey(e.getValue())) continue;
                Path shard = modelDir.resolve(e.getValue());
                if (!Files.exists(shard))
                    throw InputException.notFound(shard + ": no such file (" + INDEX + " lists tensor '" + e.getKey() + "' in it)");
                opened.put(e.getValue(), SafeTensors.open(shard));
            }
            for (Map.Entry<Path, SafeTensors> s : opened.entrySet())
                for (String name : s.getValue().tensors().keySet()) {
                    Path listed = weightMap.get(name);
                    if (listed == null)
                        throw new InputException(s.getValue().path() + ": tensor '" + name + "' is not listed in " + INDEX);
                    if (listed.equals(s.getKey())) continue;
                    if (opened.get(listed).contains(name))
                        throw new InputException(s.getValue().path() + ": tensor '" + name + "' is also in " + listed + " (the same tensor in two shards)");
                    throw new InputException(s.getValue().path() + ": tensor '" + name + "' is here but " + INDEX + " lists it in " + listed);
                }
            Map<String, SafeTensors> byName = new LinkedHashMap<>();
            for (Map.Entry<String, Path> e : weightMap.entrySet()) {
                SafeTensors st = opened.get(e.getValue());
                if (!st.contains(e.getKey()))
                    throw new InputException(st.path() + ": tensor '" + e.getKey() + "' is listed in " + INDEX + " but missing from this shard");
                byName.put(e.getKey(), st);
            }
            List<Path> files = new ArrayList<>();
            files.add(index);
            for (SafeTensors st : opened.values()) files.add(st.path());
            return new CheckpointFiles(index, new ArrayList<>(opened.values()), byName, files);
        } catch (RuntimeException e) {
            for (SafeTensors st : opened.values()) st.close();
            throw e;
        }
    }

    private static Map<String, Path> readWeightMap(Path modelDir, Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (JsonProcessingException e) {
            throw bad(index, "not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new InputException(index + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw bad(index, "not a JSON object");
        JsonNode meta = root.get("metadata");
        if (meta != null && !meta.isObject() && !meta.isNull()) throw bad(index, "metadata is not an object");
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) throw bad(index, "no weight_map object");
        if (map.isEmpty()) throw bad(index, "weight_map lists no tensors");
        Path base = modelDir.toAbsolutePath().normalize();
        Map<String, Path> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String where = "weight_map entry for tensor '" + e.getKey() + "'";
            if (!e.getValue().isTextual()) throw bad(index, where + " is not a string");
            String file = e.getValue().asText();
            Path rel;
            try {
                rel = Path.of(file).normalize();
            } catch (InvalidPathException x) {
                throw bad(index, where + " names shard '" + file + "', which is not a valid path");
            }
            Path abs = base.resolve(rel).normalize();
            if (file.isEmpty() || rel.isAbsolute() || !abs.startsWith(base) || abs.equals(base))
                throw bad(index, where + " names shard '" + file + "' outside the model folder");
            out.put(e.getKey(), rel);
        }
        return out;
    }

    private static InputException bad(Path index, String what) {
        return new InputException(index + ": malformed index: " + what);
    }

    /** Every tensor name: header order for a single file, weight_map order for shards. */
    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The entry for {@code name} (its offsets are within its shard), or an error naming the missing tensor. */
    public SafeTensors.Info info(String name) {
        return shard(name).info(name);
    }

    /** Reads a floating tensor as float32 (F16 and BF16 widened, F64 rounded). */
    public float[] floats(String name) {
        return shard(name).floats(name);
    }

    /** Checks that {@code name} has exactly {@code expected} as its shape; the error names its shard. */
    public void requireShape(String name, long... expected) {
        shard(name).requireShape(name, expected);
    }

    private SafeTensors shard(String name) {
        SafeTensors st = byName.get(name);
        if (st == null) throw new InputException(where + ": tensor '" + name + "' is missing");
        return st;
    }

    /** Every file the weights are made of (the single file, or the index and its shards), sorted: what a fingerprint covers. */
    public List<Path> files() {
        return files;
    }

    /** Closes every shard; a second call does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (SafeTensors st : shards) {
            try {
                st.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    /**
     * Writes {@code tensors} (each shard's header carries {@code metadata}) into {@code modelDir}. The
     * tensors are cut, in the map's order, into shards of at most {@code maxShardBytes} bytes of tensor
     * data: a shard closes when the next tensor would push it past the limit, so a tensor larger than the
     * limit gets a shard of its own. One shard is written as {@value #SINGLE}; more as Hugging Face's
     * {@code model-00001-of-0000N.safetensors} plus {@value #INDEX} with {@code metadata.total_size}
     * (bytes of tensor data) and the weight_map.
     *
     * <p>Each file is written atomically ({@link AtomicFiles}); the set is not, and a kill part-way
     * leaves one of these:
     * <ul>
     * <li>Writing shards: the new index is renamed into place after every new shard, and the stale
     *     {@value #SINGLE} and unlisted shards are deleted after that, so until the index lands a reader
     *     sees the old weights. Except: when a new shard would replace a file that exists already while an
     *     old index is present, that old index is deleted <em>first</em>, so old and new shards can never be
     *     combined under one index; until the new index lands, {@link #open} then finds a stale
     *     {@value #SINGLE} if there is one, else reports the weights missing.
     * <li>Writing {@value #SINGLE}: the stale index and shards are deleted after it is in place. A kill
     *     between the rename and the deletion of the index leaves the <em>old</em> sharded weights as what
     *     {@link #open} reads (it prefers the index), with nothing to tell the new file is newer.
     * <li>A kill during the final cleanup leaves stale shards no index lists; {@link #open} ignores them
     *     and the next write removes them (files named {@code model-NNNNN-of-NNNNN.safetensors}).
     * </ul>
     * A reader that already has the old files open keeps reading them.
     */
    public static void write(Path modelDir, Map<String, SafeTensors.Tensor> tensors, Map<String, String> metadata, long maxShardBytes) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        List<Map<String, SafeTensors.Tensor>> groups = new ArrayList<>();
        Map<String, SafeTensors.Tensor> group = null;
        long groupBytes = 0, total = 0;
        for (Map.Entry<String, SafeTensors.Tensor> e : tensors.entrySet()) {
            long bytes = SafeTensors.dataBytes(e.getKey(), e.getValue()); // every tensor checked before any file is written
            total = Math.addExact(total, bytes);
            if (group == null || (!group.isEmpty() && groupBytes + bytes > maxShardBytes)) {
                groups.add(group = new LinkedHashMap<>());
                groupBytes = 0;
            }
            group.put(e.getKey(), e.getValue());
            groupBytes += bytes;
        }
        Path index = modelDir.resolve(INDEX), single = modelDir.resolve(SINGLE);
        try {
            if (groups.size() <= 1) {
                SafeTensors.write(single, tensors, metadata);
                Files.deleteIfExists(index);
                deleteShardsExcept(modelDir, Set.of());
                return;
            }
            int n = groups.size();
            List<String> names = new ArrayList<>(n);
            for (int i = 1; i <= n; i++) names.add(String.format("model-%05d-of-%05d.safetensors", i, n));
            if (Files.exists(index) && names.stream().anyMatch(f -> Files.exists(modelDir.resolve(f)))) Files.delete(index);
            ObjectNode root = JSON.createObjectNode();
            root.putObject("metadata").put("total_size", total);
            ObjectNode weightMap = root.putObject("weight_map");
            for (int i = 0; i < n; i++) {
                SafeTensors.write(modelDir.resolve(names.get(i)), groups.get(i), metadata);
                for (String t : groups.get(i).keySet()) weightMap.put(t, names.get(i));
            }
            AtomicFiles.writeString(index, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
            Files.deleteIfExists(single);
            deleteShardsExcept(modelDir, new HashSet<>(names));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the weights in " + modelDir + ": " + e.getMessage(), e);
        }
    }

    /** Deletes the files of {@code modelDir} named like Hugging Face shards, except {@code keep}. */
    private static void deleteShardsExcept(Path modelDir, Set<String> keep) throws IOException {
        List<Path> stale;
        try (Stream<Path> list = Files.list(modelDir)) {
            stale = list.filter(p -> {
                String f = p.getFileName().toString();
                return SHARD.matcher(f).matches() && !keep.contains(f) && Files.isRegularFile(p);
            }).toList();
        }
        for (Path p : stale) Files.deleteIfExists(p);
    }
}
