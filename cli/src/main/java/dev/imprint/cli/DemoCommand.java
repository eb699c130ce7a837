package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.DemoCorpus;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.StoreCache;
import dev.imprint.influence.FittingPass;
import dev.imprint.influence.CandidateFilter;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelDirectory;
import dev.imprint.model.TrackedLayer;
import dev.imprint.io.OutputSet;
import dev.imprint.report.HtmlReport;
import dev.imprint.report.ResultsJson;
import dev.imprint.report.RunInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code imprint demo}: the whole pipeline on the demo corpus, every stage cached under
 * {@code <cache>/demo}: corpus (State of the Union + Moby-Dick + one planted document), the demo
 * model, its sequence store, EK-FAC factors, and the built-in queries' results and report.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run Imprint end to end on the demo corpus: fetch it, train the demo model (cached), fit EK-FAC (cached),",
                "score the built-in queries against every training sequence and write an HTML report."},
        footer = {"", "The built-in queries: corpus-style completions, memorized passages (their source should rank first),",
                "and a word-order pair on a fact planted in the corpus (\"A … B\" trained, queried as A → B and B → A).",
                "", "Example:", "  imprint demo --cache /tmp/imprint-cache"})
final class DemoCommand implements Callable<Integer> {
    static final String PLANTED = "planted/zephyrine-logbook.txt";

    @Option(names = "--cache", description = "Cache folder (default: $IMPRINT_CACHE or ~/.cache/imprint).")
    Path cache;
    @Option(names = "--out", description = "Results folder (default: <cache>/demo/results).")
    Path out;
    @Option(names = "--fitting-sequences", defaultValue = "500", description = "EK-FAC fitting sample (default: ${DEFAULT-VALUE}).")
    int fitting;
    @Option(names = "--candidates", defaultValue = "300", description = "TF-IDF candidates per query, or all (default: ${DEFAULT-VALUE}).")
    String candidates;
    @Option(names = "--top", defaultValue = "10", description = "Sequences kept per query (default: ${DEFAULT-VALUE}).")
    int top;
    @Option(names = "--rank", defaultValue = "32", description = "Query rank for the batched pass, or full (default: ${DEFAULT-VALUE}).")
    String rank;
    @Option(names = "--arch", defaultValue = "gpt2", description = "The demo model's architecture: gpt2, llama or neox (default: ${DEFAULT-VALUE}).")
    String arch;

    @Override
    public Integer call() throws IOException {
        if (fitting < 1) throw new InputException("--fitting-sequences must be at least 1, not " + fitting);
        if (top < 1) throw new InputException("--top must be at least 1, not " + top);
        int k = QueryCommand.parseRank(rank), kCandidates = QueryCommand.parseCandidates(candidates); // every flag checked before any work
        Path root = (cache != null ? cache : Main.defaultCache()).resolve("demo");
        try {
            dev.imprint.train.TrainingPreset.Arch.named(arch);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
        // GPT-2's folders keep their names; another architecture's are suffixed, so that each has its own cache
        String suffix = arch.equals("gpt2") ? "" : "-" + arch;
        Path results = out != null ? out : root.resolve("results" + suffix);
        long t0 = System.nanoTime();
        Path corpus = demoCorpus(cache != null ? cache : Main.defaultCache(), root.resolve("corpus"));
        Path modelDir = root.resolve("model" + suffix);
        if (!Files.exists(modelDir.resolve(OutputSet.MANIFEST))) // trained and sealed (ModelDirectory.seal); else train finishes or resumes it
            run("train", "--corpus", corpus.toString(), "--out", modelDir.toString(), "--preset", "demo", "--arch", arch, "--cache", root.getParent().toString());
        else System.err.println("demo model: reusing " + modelDir);
        Map<String, Double> timings = new LinkedHashMap<>();
        timings.put("corpus_and_training_s", seconds(t0));

        try (OutputSet set = OutputSet.open(results, "demo", RESULT_FILES);
             ModelDirectory dir = ModelDirectory.load(modelDir);
             SequenceStore store = StoreCache.forCorpus(corpus, root.getParent(), dir.tokenizer(), StoreCache.fileId(modelDir.resolve("tokenizer.json")),
                     dir.config().contextLength(), new ConsoleProgress())) {
            LanguageModel model = dir.model(LayerSelection.MLP);
            long t1 = System.nanoTime();
            Strategy ekfac = Strategy.defaultStrategy();
            Path factors = root.resolve("factors" + suffix);
            dropFactorsOfAnotherModel(factors, dir.fingerprint());
            Preconditioners pre = InfluenceAnalysis.fit(model, store, dir.fingerprint(), factors,
                    new InfluenceAnalysis.FitSettings(ekfac, fitting, 8, 0, FittingPass.Labels.SAMPLED), Damping.paperDefault(), new FitCommand.StageBars());
            timings.put("fit_s", seconds(t1));
            String key = String.join("|", ResultsJson.FORMAT, dir.fingerprint(), store.fingerprint(), Integer.toString(fitting), candidates, rank,
                    Integer.toString(top), resource("queries.jsonl"));
            Path keyFile = results.resolve(KEY_FILE);
            if (Files.exists(results.resolve(ResultsJson.FILE)) && Files.exists(keyFile) && Files.readString(keyFile).equals(key)) {
                System.err.println("demo results: reusing " + results.resolve(ResultsJson.FILE));
                set.keepAllBut(HtmlReport.FILE);
            } else {
                List<Query> queries = builtInQueries(dir);
                long t2 = System.nanoTime();
                List<int[]> filtered = CandidateFilter.select(store, queries, kCandidates, new ConsoleProgress());
                java.util.BitSet trained = dev.imprint.validation.TrainingRecipe.trainedOn(modelDir, dir.config(), store);
                int trainedOn = trained == null ? 0 : trained.cardinality();
                List<InfluenceAnalysis.QueryResult> scored = InfluenceAnalysis.score(model, store, pre, queries, filtered,
                        new InfluenceAnalysis.ScoreSettings(top, 8, true, k, Math.max(100, top), trainedOn), new ConsoleProgress());
                timings.put("score_s", seconds(t2));
                RunInfo run = new RunInfo(modelDir.toString(), dir.fingerprint(), corpus.toString(), store.fingerprint(), store.size(),
                        ekfac.name(), "0.1 × mean(Λ) per layer", model.trackedLayers().stream().map(TrackedLayer::name).toList(),
                        k == 0 ? "full" : Integer.toString(k), CandidateFilter.describe(kCandidates, store.size()), timings, trainedOn);
                ResultsJson.write(set.staging(), run, scored, store, trained);
                Files.writeString(set.staging().resolve(KEY_FILE), key);
                for (InfluenceAnalysis.QueryResult r : scored) {
                    InfluenceAnalysis.Hit best = r.top().getFirst();
                    String doc = ResultsJson.carryingDocument(store, best);
                    System.out.printf("%-24s log p %7.3f   top: %+.3e  %s%n", r.query().id(), r.logProb(), best.score(), doc);
                }
            }
            ReportCommand.write(set.staging());
            set.commit();
        }
        System.out.println("results: " + results.resolve(ResultsJson.FILE));
        System.out.println("report:  " + results.resolve(HtmlReport.FILE));
        return 0;
    }

    /** What tells a rerun that the results were made with the same inputs and settings. */
    private static final String KEY_FILE = ".demo-key";
    /** The files of a results folder, the demo's key among them. */
    static final java.util.Set<String> RESULT_FILES = java.util.Set.of(ResultsJson.FILE, ResultsJson.SCORES, HtmlReport.FILE, KEY_FILE);

    /**
     * The demo's cached factors are its own: when they were fitted for another model (the demo
     * model retrained, or rewritten by a newer Imprint), they are removed and fitted again rather
     * than refused, as a user's factors folder would be.
     */
    private static void dropFactorsOfAnotherModel(Path factors, String modelFingerprint) throws IOException {
        Path args = factors.resolve(dev.imprint.curvature.CurvatureFactors.ARGUMENTS_FILE);
        if (!Files.isRegularFile(args)) return;
        String fitted = dev.imprint.io.JsonFiles.readObject(args).path("model_fingerprint").asText();
        if (fitted.equals(modelFingerprint + "|labels=" + FittingPass.Labels.SAMPLED.recorded())) return;
        System.err.println("demo factors: fitted for another model or by an earlier Imprint; fitting them again");
        dev.imprint.io.AtomicFiles.deleteTree(factors);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /** Runs another subcommand in-process, failing the demo if it fails. */
    private static void run(String... args) {
        int code = Main.run(args);
        if (code != 0) throw new InputException("demo stopped: 'imprint " + String.join(" ", args) + "' failed (exit " + code + ")");
    }

    /** The fetched corpus copied under {@code target} with the planted document beside it (idempotent). */
    static Path demoCorpus(Path cache, Path target) throws IOException {
        Path fetched = DemoCorpus.fetch(cache.resolve("demo-corpus"), System.err::println);
        for (String part : List.of("sotu", "moby-dick")) copyTree(fetched.resolve(part), target.resolve(part));
        Path planted = target.resolve(PLANTED);
        String text = resource("planted.txt");
        if (!Files.exists(planted) || !Files.readString(planted).equals(text)) dev.imprint.io.AtomicFiles.writeString(planted, text);
        return target;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path dest = to.resolve(from.relativize(f).toString());
                if (Files.exists(dest) && Files.size(dest) == Files.size(f)) continue;
                Files.createDirectories(dest.getParent());
                Files.copy(f, dest, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    static List<Query> builtInQueries(ModelDirectory dir) {
        return Query.fromJsonLines("demo/queries.jsonl", List.of(resource("queries.jsonl").split("\n")), dir.tokenizer(), dir.config().contextLength());
    }

    private static String resource(String name) {
        try (InputStream in = DemoCommand.class.getResourceAsStream("demo/" + name)) {
            if (in == null) throw new IllegalStateException("missing resource demo/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
