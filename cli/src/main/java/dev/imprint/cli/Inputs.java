package dev.imprint.cli;

import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.ModelDirectory;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every analysis command shares, and what they open: a model and its sequence store. */
final class Inputs {
    @Option(names = "--model", required = true, description = "Hugging Face model folder: config.json, model.safetensors (or shards with model.safetensors.index.json), tokenizer.json.")
    Path model;
    @Option(names = "--corpus", required = true, description = "Training corpus (folder or file) or a built sequence store.")
    Path corpus;
    @Option(names = "--layers", defaultValue = "mlp", description = "Tracked layers: mlp (the paper's default) or all (attention projections too).")
    String layers;
    @Option(names = "--seq-len", description = "Tokens per training sequence, at least 2 (default: the model's context, at most 2048).")
    Integer seqLen;
    @Option(names = "--batch-size", defaultValue = "8", description = "Sequences per forward/backward (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--cache", description = "Cache folder for sequence stores (default: $IMPRINT_CACHE or ~/.cache/imprint).")
    Path cache;

    /** An opened model and store. */
    record Opened(ModelDirectory dir, LanguageModel model, SequenceStore store) implements AutoCloseable {
        /**
         * The store's sequences the model trained on, when its training.json records a run on this
         * store (method §1.1: the N of the per-copy unit); null otherwise.
         */
        java.util.BitSet trained() {
            return dev.imprint.validation.TrainingRecipe.trainedOn(dir.dir(), dir.config(), store);
        }

        @Override
        public void close() {
            store.close();
            dir.close();
        }
    }

    /** The longest default sequence: real checkpoints have contexts of 32k–128k tokens, far more than a training document needs. */
    static final int DEFAULT_MAX_SEQ_LEN = 2048;

    LayerSelection selection() {
        return switch (layers) {
            case "mlp" -> LayerSelection.MLP;
            case "all" -> LayerSelection.ALL_LINEAR;
            default -> throw new dev.imprint.InputException("--layers must be mlp or all, not '" + layers + "'");
        };
    }

    Opened open() {
        return open((model, seqLen) -> {});
    }

    /**
     * Loads the model, runs {@code beforeStore} with it and the sequence length (to plan memory and
     * refuse what will not fit before the store is built), then opens the store.
     */
    Opened open(java.util.function.ObjIntConsumer<LanguageModel> beforeStore) {
        if (batchSize < 1) throw new dev.imprint.InputException("--batch-size must be at least 1, not " + batchSize);
        if (seqLen != null && seqLen < 2) throw new dev.imprint.InputException("--seq-len must be at least 2, not " + seqLen);
        LayerSelection sel = selection();
        ModelConfig c = ModelDirectory.readConfig(model);
        System.err.printf("model: %s, %d layers, %,d parameters: %,d MiB of weights in the heap%n",
                c.family().modelType(), c.layers(), c.parameterCount(), ModelDirectory.weightBytes(c) >> 20);
        ModelDirectory dir = ModelDirectory.load(model);
        int len = seqLen != null ? seqLen : Math.min(dir.config().contextLength(), DEFAULT_MAX_SEQ_LEN);
        if (len > dir.config().contextLength())
            throw new dev.imprint.InputException("--seq-len " + len + " exceeds the model context of " + dir.config().contextLength());
        LanguageModel m = dir.model(sel);
        try {
            beforeStore.accept(m, len);
        } catch (RuntimeException e) {
            dir.close();
            throw e;
        }
        SequenceStore store = StoreCache.forCorpus(corpus, cache != null ? cache : Main.defaultCache(), dir.tokenizer(),
                StoreCache.fileId(model.resolve("tokenizer.json")), len, new ConsoleProgress());
        return new Opened(dir, m, store);
    }
}
