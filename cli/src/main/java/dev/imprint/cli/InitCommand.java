package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.OutputLock;
import dev.imprint.model.ByteLevelBpe;
import dev.imprint.model.HfConfig;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.ModelDirectory;
import dev.imprint.model.Parameters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code imprint init}: a model of a published shape with seeded random weights, in the Hugging Face layout. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Write a model of a published shape with seeded random weights (GPT-2's initialization) in the Hugging Face layout:",
                "config.json, model.safetensors (sharded past 4 GiB) and a byte-level tokenizer.json.",
                "For trying the pipeline's memory and speed on large shapes without downloading weights."},
        footer = {"", "Examples:", "  imprint init --shape llama-3.2-1b --out models/llama-1b-random",
                "  imprint init --shape gpt2-small --out models/gpt2-small-random --seed 7"})
final class InitCommand implements Callable<Integer> {
    @Option(names = "--shape", required = true, description = "gpt2-small, pythia-160m, qwen2-0.5b or llama-3.2-1b.")
    String shape;
    @Option(names = "--out", required = true, description = "Model folder to write.")
    Path out;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        ModelConfig config;
        try {
            config = ModelConfig.named(shape);
        } catch (IllegalArgumentException e) {
            throw new InputException("--shape: " + e.getMessage());
        }
        long need = 2 * ModelDirectory.weightBytes(config), heap = Runtime.getRuntime().maxMemory();
        if (need > heap)
            throw InputException.outOfMemory(shape + ": writing the weights needs " + (need >> 20) + " MiB of heap (the weights and one stored copy), the heap is "
                    + (heap >> 20) + " MiB; give it more with IMPRINT_HEAP");
        try (OutputLock lock = OutputLock.acquire(out, "init")) {
            Files.createDirectories(out);
            System.err.printf("%s: %s, %,d parameters, seed %d%n", shape, config.family().modelType(), config.parameterCount(), seed);
            Parameters.initialize(config, seed).save(out, Map.of("imprint.init_seed", Long.toString(seed)));
            AtomicFiles.writeString(out.resolve("tokenizer.json"), ByteLevelBpe.gpt2Prefix(Math.min(config.vocabSize(), 50257)));
            HfConfig.write(config, out.resolve("config.json"));
        }
        System.out.println(out + ": " + shape + " with random weights (seed " + seed + ")");
        return 0;
    }
}
