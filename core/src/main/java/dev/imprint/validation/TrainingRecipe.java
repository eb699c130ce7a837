package dev.imprint.validation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.InputException;
import dev.imprint.data.SequenceStore;
import dev.imprint.io.JsonFiles;
import dev.imprint.model.ModelConfig;
import dev.imprint.train.Trainer;
import dev.imprint.train.TrainingPreset;
import dev.imprint.train.TrainingSettings;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a model was trained, read from the {@code training.json} that {@code imprint train} writes
 * beside it: the preset and architecture, the step count, the seed and the sequence store. The
 * retrainings of validation (method §7) repeat it on parts of the training split.
 *
 * @param preset           the preset, in the model's architecture
 * @param steps            optimizer steps
 * @param seed             initialization, split and data order of the model's own run
 * @param storeFingerprint the sequence store it trained on
 */
public record TrainingRecipe(TrainingPreset preset, int steps, long seed, String storeFingerprint) {
    public static final String FILE = "training.json";

    /** The recipe of the model in {@code modelDir}; refused in one line when the file is missing or lacks a field. */
    public static TrainingRecipe read(Path modelDir) {
        Path file = modelDir.resolve(FILE);
        if (!Files.isRegularFile(file))
            throw InputException.notFound(modelDir + ": no " + FILE + "; validation retrains the model, so it needs a model trained by 'imprint train'");
        JsonNode n = JsonFiles.readObject(file);
        for (String field : new String[] {"preset", "arch", "store_fingerprint"})
            if (!n.path(field).isTextual())
                throw new InputException(file + ": no \"" + field + "\"" + (field.equals("store_fingerprint")
                        ? " (written by 'imprint train' since it records its sequence store; train the model again)" : ""));
        if (!n.path("steps").canConvertToInt() || n.path("steps").intValue() < 1 || !n.path("seed").canConvertToLong())
            throw new InputException(file + ": needs \"steps\" ≥ 1 and \"seed\"");
        TrainingPreset preset;
        try {
            preset = TrainingPreset.named(n.get("preset").asText(), TrainingPreset.Arch.named(n.get("arch").asText()));
        } catch (IllegalArgumentException e) {
            throw new InputException(file + ": " + e.getMessage());
        }
        return new TrainingRecipe(preset, n.get("steps").intValue(), n.get("seed").longValue(), n.get("store_fingerprint").asText());
    }

    /**
     * The recipe of {@code modelDir} when its {@code training.json} records one for {@code store}
     * (a model trained by {@code imprint train} on this store), else empty: a model from elsewhere,
     * or trained on another store, whose training set Imprint does not know.
     */
    private static java.util.Optional<TrainingRecipe> ofStore(Path modelDir, ModelConfig config, SequenceStore store) {
        if (!Files.isRegularFile(modelDir.resolve(FILE))) return java.util.Optional.empty();
        try {
            TrainingRecipe r = read(modelDir);
            return r.storeFingerprint.equals(store.fingerprint()) && config.equals(r.preset.config()) ? java.util.Optional.of(r) : java.util.Optional.empty();
        } catch (InputException e) {
            return java.util.Optional.empty(); // written before it recorded its store, or not by imprint train
        }
    }

    /**
     * The sequences of {@code store} the model in {@code modelDir} trained on, when its training.json
     * records a run on this store ({@link #ofStore}); null otherwise.
     */
    public static java.util.BitSet trainedOn(Path modelDir, ModelConfig config, SequenceStore store) {
        return ofStore(modelDir, config, store).map(r -> r.seen(store.size())).orElse(null);
    }

    /** The sequences of a store of {@code storeSize} that the model's run drew: the training set it saw. */
    public java.util.BitSet seen(int storeSize) {
        return Trainer.drawn(split(storeSize), settings(0));
    }

    /** Refuses (exit 4) a model whose shape is not the preset's or a store other than the one it trained on. */
    public void requireMatches(ModelConfig config, SequenceStore store) {
        if (!config.equals(preset.config()))
            throw InputException.mismatch("the model's config.json is not the " + preset.name() + " preset it names in " + FILE + "; it cannot be retrained from its recipe");
        if (!store.fingerprint().equals(storeFingerprint))
            throw InputException.mismatch("the sequence store (" + store.fingerprint() + ") is not the one the model was trained on (" + storeFingerprint
                    + "); give the same --corpus as 'imprint train' was given");
    }

    /** The settings of the model's run with its seed shifted by {@code seedOffset} (0: the model's own). */
    public TrainingSettings settings(long seedOffset) {
        return preset.settings(steps, seed + seedOffset);
    }

    /** The split of the model's own run: the training sequences and the held-out ones. */
    public Trainer.Split split(int storeSize) {
        return Trainer.Split.of(storeSize, settings(0));
    }
}
