package dev.imprint.model;

import dev.imprint.InputException;
import dev.imprint.io.CheckpointFiles;
import dev.imprint.io.OutputSet;
import dev.imprint.io.Sha256;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face model folder: {@code config.json}, the weights ({@code model.safetensors}, or
 * shards listed by {@code model.safetensors.index.json}) and {@code tokenizer.json}.
 *
 * <p>A folder written by {@code imprint train} holds its final files beside the checkpoint they
 * come from; they are written one after another, and {@value OutputSet#MANIFEST}, listing them
 * with their SHA-256, is written last ({@link #seal}) and removed before the first is rewritten
 * ({@link #unseal}). Loading such a folder checks the files against the manifest, and refuses a
 * folder with a checkpoint but no manifest (training not finished, or killed while writing its
 * final files), so that a model is never read from files of two runs.
 *
 * @param dir         the folder
 * @param config      its architecture
 * @param parameters  its weights
 * @param tokenizer   its tokenizer
 * @param fingerprint SHA-256 over config.json and the weight files: what fitted factors depend on
 */
public record ModelDirectory(Path dir, ModelConfig config, Parameters parameters, HfTokenizer tokenizer, String fingerprint) implements AutoCloseable {

    /** Reads and validates config.json alone: what a caller shows (family, size, memory) before {@link #load}. */
    public static ModelConfig readConfig(Path dir) {
        if (!Files.isDirectory(dir)) throw InputException.notFound(dir + ": no such model folder");
        return HfConfig.read(dir.resolve("config.json"));
    }

    /** Bytes of heap the weights take once loaded (float32). */
    public static long weightBytes(ModelConfig config) {
        return 4 * config.parameterCount();
    }

    /**
     * Loads and validates the three parts (one-line errors naming the file and the problem). The
     * weight files' headers are checked against the config first (a config that describes another
     * model is named as a mismatch, whatever its size); then a model whose weights would not fit
     * the heap that is free is refused before any weight is read.
     */
    public static ModelDirectory load(Path dir) {
        ModelConfig c = readConfig(dir);
        requireWhole(dir);
        Parameters p;
        List<Path> files = new ArrayList<>();
        files.add(dir.resolve("config.json"));
        try (CheckpointFiles weights = CheckpointFiles.open(dir)) {
            Parameters.requireMatch(weights, c);
            Runtime rt = Runtime.getRuntime();
            long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()), need = weightBytes(c);
            if (need > free)
                throw InputException.outOfMemory(dir + ": the " + c.family().modelType() + " weights need " + (need >> 20) + " MiB of heap, "
                        + (free >> 20) + " MiB is free; give it more with IMPRINT_HEAP");
            p = Parameters.load(weights, c);
            files.addAll(weights.files());
        }
        HfTokenizer t = Tokenizers.load(dir);
        if (t.vocabSize() > c.vocabSize()) {
            t.close();
            throw new InputException(dir + ": tokenizer.json has " + t.vocabSize() + " tokens but the model's vocabulary is " + c.vocabSize());
        }
        return new ModelDirectory(dir, c, p, t, sha256(files));
    }

    /** The checkpoint folder {@code imprint train} keeps in a model folder. */
    public static final String CHECKPOINT = "checkpoint";

    /** Removes the manifest before a trained model's final files are (re)written: until {@link #seal}, the folder is not read. */
    public static void unseal(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(OutputSet.MANIFEST));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    /** Writes the manifest of a trained model's final files, once all of them are written: config, weights, tokenizer and {@code extra}. */
    public static void seal(Path dir, String command, List<String> extra) {
        List<String> names = new ArrayList<>();
        names.add("config.json");
        try (CheckpointFiles weights = CheckpointFiles.open(dir)) {
            for (Path f : weights.files()) names.add(f.getFileName().toString());
        }
        names.add("tokenizer.json");
        names.addAll(extra);
        try {
            OutputSet.writeManifest(dir, command, names);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    /** Whether {@code dir} holds a training checkpoint (in place, or left aside by a kill during its swap). */
    public static boolean hasCheckpoint(Path dir) {
        return Files.exists(dir.resolve(CHECKPOINT).resolve("state.json")) || Files.exists(dir.resolve(CHECKPOINT + ".old").resolve("state.json"));
    }

    /** Refuses a trained folder whose final files are not a whole set (see the class comment). */
    private static void requireWhole(Path dir) {
        if (Files.exists(dir.resolve(OutputSet.MANIFEST))) OutputSet.verifyListed(dir);
        else if (hasCheckpoint(dir))
            throw new InputException(dir + ": its training has not finished (a " + CHECKPOINT + " folder but no " + OutputSet.MANIFEST
                    + "); run 'imprint train --out " + dir + "' again to finish it");
    }

    /** The model, tracking {@code selection}'s layers. */
    public LanguageModel model(LayerSelection selection) {
        return new Transformer(parameters, selection);
    }

    private static String sha256(List<Path> files) {
        try {
            return Sha256.of(files);
        } catch (IOException e) {
            throw new InputException("cannot read model files: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
