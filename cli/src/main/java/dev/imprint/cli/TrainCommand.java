package dev.imprint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.OutputLock;
import dev.imprint.model.ByteLevelBpe;
import dev.imprint.model.HfTokenizer;
import dev.imprint.model.ModelDirectory;
import dev.imprint.train.Trainer;
import dev.imprint.train.TrainingPreset;
import dev.imprint.train.TrainingSettings;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code imprint train}: a GPT-2, Llama-style or GPT-NeoX model trained on a corpus, written in the Hugging Face layout. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a GPT-2, Llama-style or GPT-NeoX model on a corpus and write it as a Hugging Face model folder",
                "(config.json, model.safetensors, tokenizer.json). Resumes from OUT/checkpoint after an interruption."},
        footer = {"", "Examples:", "  imprint train --corpus my-docs/ --out models/tiny --preset tiny",
                "  imprint train --corpus my-docs/ --out models/tiny-llama --preset tiny --arch llama",
                "  imprint train --corpus ~/.cache/imprint/demo-corpus --out models/demo --preset demo"})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--corpus", required = true, description = "Corpus folder or file, or a built sequence store.")
    Path corpus;
    @Option(names = "--out", required = true, description = "Model folder to write.")
    Path out;
    @Option(names = "--preset", defaultValue = "demo", description = "tiny (under a minute) or demo (default: ${DEFAULT-VALUE}).")
    String preset;
    @Option(names = "--arch", defaultValue = "gpt2", description = "gpt2, llama (RMSNorm, rotary, grouped-query attention, SwiGLU) or neox (Pythia's GPT-NeoX) (default: ${DEFAULT-VALUE}).")
    String arch;
    @Option(names = "--steps", description = "Optimizer steps, at least 1 (default: the preset's).")
    Integer steps;
    @Option(names = "--seed", defaultValue = "1", description = "Seed for initialization, split and data order (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--cache", description = "Cache folder for sequence stores (default: $IMPRINT_CACHE or ~/.cache/imprint).")
    Path cache;

    @Override
    public Integer call() throws Exception {
        if (steps != null && steps < 1) throw new dev.imprint.InputException("--steps must be at least 1, not " + steps);
        TrainingPreset p;
        try {
            p = TrainingPreset.named(preset, TrainingPreset.Arch.named(arch));
        } catch (IllegalArgumentException e) {
            throw new dev.imprint.InputException(e.getMessage());
        }
        try (OutputLock lock = OutputLock.acquire(out, "train")) {
            return train(p);
        }
    }

    private int train(TrainingPreset p) throws Exception {
        Files.createDirectories(out);
        Path tokenizerJson = out.resolve("tokenizer.json");
        String wanted = ByteLevelBpe.gpt2Prefix(p.config().vocabSize());
        if (!Files.exists(tokenizerJson) || !Files.readString(tokenizerJson).equals(wanted)) {
            // another vocabulary: a fresh training, which a checkpoint of this one cannot continue
            if (ModelDirectory.hasCheckpoint(out))
                throw dev.imprint.InputException.mismatch(out + ": its checkpoint was written for another vocabulary (tokenizer.json differs); use another --out or delete the checkpoint");
            ModelDirectory.unseal(out);
            AtomicFiles.writeString(tokenizerJson, wanted);
        }
        TrainingSettings settings = p.settings(steps != null ? steps : p.steps(), seed);
        try (HfTokenizer tok = HfTokenizer.load(tokenizerJson);
             SequenceStore store = StoreCache.forCorpus(corpus, cache != null ? cache : Main.defaultCache(), tok,
                     StoreCache.fileId(tokenizerJson), p.seqLen(), new ConsoleProgress())) {
            System.err.printf("training %s %s (%,d parameters) on %,d sequences of %d tokens, %d steps of %d sequences%n",
                    p.config().family().modelType(), p.name(), p.config().parameterCount(), store.size(), store.seqLen(), settings.steps(), settings.batchSize());
            Trainer trainer = new Trainer(p.config(), store, settings, out);
            trainer.requireResumable(); // a checkpoint of other settings is refused before anything is rewritten
            ModelDirectory.unseal(out); // the final files are rewritten below: not a whole set until sealed
            Trainer.Result r;
            try (ProgressBar bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(settings.steps())
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                    .showSpeed().build()) {
                r = trainer.run(new Trainer.Listener() {
                    @Override
                    public void onStart(int from, int total) {
                        bar.stepTo(from);
                        if (from > 0) System.err.println("resuming from step " + from);
                    }

                    @Override
                    public void onStep(int step, double loss, float lr, long tokens, double tps) {
                        bar.stepTo(step);
                        bar.setExtraMessage(String.format(" loss %.3f, %,.0f tok/s", loss, tps));
                    }

                    @Override
                    public void onEvaluation(Trainer.Evaluation e) {
                        bar.setExtraMessage(String.format(" held-out %.3f", e.heldOutLoss()));
                    }
                });
            } finally {
                System.err.println(); // the console consumer leaves the bar's line open
            }
            double unigram = store.unigramEntropy(trainer.heldOut());
            Trainer.Evaluation last = r.evaluations().getLast();
            ObjectNode summary = new ObjectMapper().createObjectNode();
            summary.put("preset", p.name()).put("arch", arch).put("steps", r.steps()).put("seed", seed).put("store_fingerprint", store.fingerprint()).put("tokens", r.tokens())
                    .put("tokens_per_second", r.tokensPerSecond()).put("resumed_from", r.resumedFrom())
                    .put("held_out_loss", last.heldOutLoss()).put("unigram_entropy", unigram);
            var curve = summary.putArray("evaluations");
            for (Trainer.Evaluation e : r.evaluations())
                curve.addObject().put("step", e.step()).put("train_loss", e.trainLoss()).put("held_out_loss", e.heldOutLoss());
            AtomicFiles.writeString(out.resolve("training.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(summary));
            ModelDirectory.seal(out, "train", java.util.List.of("training.json"));
            // a run resumed from its last checkpoint trains no step, so it has no speed to report
            String speed = r.resumedFrom() >= r.steps() ? "resumed after its last step" : String.format("%,.0f tokens/s", r.tokensPerSecond());
            System.out.printf("%s: held-out loss %.3f nats/token (unigram entropy of the held-out split %.3f), %s%n",
                    out, last.heldOutLoss(), unigram, speed);
        }
        return 0;
    }
}
