package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.ConsoleProgress;
import dev.imprint.influence.CandidateFilter;
import dev.imprint.index.GradientIndex;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.model.TrackedLayer;
import dev.imprint.io.OutputSet;
import dev.imprint.report.HtmlReport;
import dev.imprint.report.ResultsJson;
import dev.imprint.report.RunInfo;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code imprint query}: the most influential training sequences for queries. */
@Command(name = "query", mixinStandardHelpOptions = true,
        description = {"Score every training sequence's influence on queries (prompt + completion) and write",
                "OUT/results.json (top sequences with layer and token attributions) and OUT/scores.safetensors."},
        footer = {"", "Examples:",
                "  imprint query --model models/demo --corpus CORPUS --factors factors/demo --prompt 'Call me' --completion ' Ishmael' --out results/",
                "  imprint query --model models/demo --corpus CORPUS --factors factors/demo --queries queries.jsonl --top 20 --out results/",
                "", "queries.jsonl: one JSON object per line with \"prompt\", \"completion\" and optionally \"id\"."})
final class QueryCommand implements Callable<Integer> {
    @Mixin Inputs inputs;
    @Mixin FactorOptions factorOptions;
    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;
    @Option(names = "--out", required = true, description = "Results folder.")
    Path out;
    @Option(names = "--top", defaultValue = "10", description = "Sequences kept per query (default: ${DEFAULT-VALUE}).")
    int top;
    @Option(names = "--rank", defaultValue = "full", description = "full (exact), or k: score with rank-k queries in one pass, then rescore each query's top candidates at full rank (default: ${DEFAULT-VALUE}).")
    String rank;
    @Option(names = "--rescore", defaultValue = "100", description = "With --rank k: candidates per query rescored at full rank (default: ${DEFAULT-VALUE}).")
    int rescore;
    @Option(names = "--candidates", defaultValue = "10000", description = "K: score only each query's top K training sequences by TF-IDF (method §5); all: no filter (default: ${DEFAULT-VALUE}).")
    String candidates;

    @Option(names = "--index", description = "A gradient index ('imprint index build'): each query's --index-candidates best sequences by the index are scored exactly.")
    Path index;
    @Option(names = "--index-candidates", defaultValue = "100", description = "With --index: candidates per query taken from the index (default: ${DEFAULT-VALUE}).")
    int indexCandidates;
    @Option(names = "--combine", defaultValue = "union", description = "With --index and an explicit --candidates: union or intersection of the index's and TF-IDF's candidates (default: ${DEFAULT-VALUE}).")
    String combine;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    static final class Source {
        @ArgGroup(exclusive = false)
        Single single;
        @Option(names = "--queries", description = "A JSONL file of queries.")
        Path file;
    }

    static final class Single {
        @Option(names = "--prompt", required = true, description = "The query's prompt.")
        String prompt;
        @Option(names = "--completion", required = true, description = "The query's completion (the measured text).")
        String completion;
    }

    @Override
    public Integer call() {
        if (top < 1) throw new InputException("--top must be at least 1");
        int k = parseRank(rank);
        if (k > 0 && rescore < top) throw new InputException("--rescore " + rescore + " must be at least --top " + top);
        if (index != null && indexCandidates < top) throw new InputException("--index-candidates " + indexCandidates + " must be at least --top " + top);
        if (!combine.equals("union") && !combine.equals("intersection")) throw new InputException("--combine must be union or intersection, not '" + combine + "'");
        boolean tfidf = index == null || spec.commandLine().getParseResult().hasMatchedOption("--candidates");
        Strategy s = factorOptions.strategy();
        factorOptions.damping(); // a bad value is reported before any work
        try (OutputSet set = OutputSet.open(out, "query", ResultsJson.FILES); Inputs.Opened in = inputs.open()) {
            int context = in.dir().config().contextLength();
            List<Query> queries = source.file != null ? readQueries(source.file, in, context)
                    : List.of(Query.of("q1", source.single.prompt, source.single.completion, in.dir().tokenizer(), context));
            int kCandidates = parseCandidates(candidates);
            GradientIndex idx = index == null ? null : GradientIndex.open(index, in.model().trackedLayers());
            if (idx != null) idx.requireMatches(in.dir().fingerprint(), in.store().fingerprint(), factorOptions.fingerprint(in));
            long t0 = System.nanoTime();
            List<int[]> filtered = tfidf ? CandidateFilter.select(in.store(), queries, kCandidates, new ConsoleProgress()) : null; // null: all
            long tFilter = System.nanoTime();
            Preconditioners pre = factorOptions.open(in, queries.size(), inputs.batchSize);
            long t1 = System.nanoTime(), tLoaded = t1;
            Map<String, Double> timings = new LinkedHashMap<>();
            String which = CandidateFilter.describe(kCandidates, in.store().size());
            List<int[]> byIndex = null;
            if (idx != null) {
                byIndex = idx.candidates(in.model(), pre, queries, indexCandidates, new ConsoleProgress());
                boolean union = combine.equals("union"), tfidfAll = filtered == null;
                filtered = !tfidf ? byIndex : CandidateFilter.combine(byIndex, filtered, union);
                if (filtered != null)
                    which = "index: the top " + Math.min(indexCandidates, in.store().size()) + " by the gradient index " + index.getFileName()
                            + " (" + idx.info().dimension() + " floats per sequence)"
                            + (tfidf && !tfidfAll ? (union ? " ∪ " : " ∩ ") + "the top " + which + " by TF-IDF" : "");
                timings.put("index_s", (System.nanoTime() - t1) / 1e9);
                t1 = System.nanoTime();
            }
            java.util.BitSet trained = in.trained();
            int trainedOn = trained == null ? 0 : trained.cardinality();
            List<InfluenceAnalysis.QueryResult> results = InfluenceAnalysis.score(in.model(), in.store(), pre, queries, filtered,
                    new InfluenceAnalysis.ScoreSettings(top, inputs.batchSize, true, k, rescore, trainedOn), new ConsoleProgress());
            long t2 = System.nanoTime();
            if (byIndex != null && which.startsWith("index: ")) which += "; " + indexRanks(results, byIndex);
            if (tfidf) timings.put("tfidf_filter_s", (tFilter - t0) / 1e9);
            timings.put("load_factors_s", (tLoaded - tFilter) / 1e9);
            timings.put("score_s", (t2 - t1) / 1e9);
            RunInfo run = new RunInfo(inputs.model.toString(), in.dir().fingerprint(), inputs.corpus.toString(), in.store().fingerprint(),
                    in.store().size(), s.name(), factorOptions.dampingText(),
                    in.model().trackedLayers().stream().map(TrackedLayer::name).toList(), k == 0 ? "full" : Integer.toString(k), which, timings, trainedOn);
            ResultsJson.write(set.staging(), run, results, in.store(), trained);
            ReportCommand.write(set.staging());
            set.commit();
            print(results, in);
            System.out.println("results: " + out.resolve(ResultsJson.FILE));
            System.out.println("report:  " + out.resolve(HtmlReport.FILE));
        }
        return 0;
    }

    /**
     * How far down the index's order the exact top reached, which tells whether its cutoff was
     * generous: the deepest index rank of a top sequence over the queries, and how many top
     * sequences only TF-IDF proposed.
     */
    static String indexRanks(List<InfluenceAnalysis.QueryResult> results, List<int[]> byIndex) {
        int deepest = 0, outside = 0;
        for (int q = 0; q < results.size(); q++) {
            java.util.Map<Integer, Integer> rank = new java.util.HashMap<>();
            for (int i = 0; i < byIndex.get(q).length; i++) rank.put(byIndex.get(q)[i], i + 1);
            for (InfluenceAnalysis.Hit h : results.get(q).top()) {
                Integer r = rank.get(h.sequence());
                if (r == null) outside++;
                else deepest = Math.max(deepest, r);
            }
        }
        return "the exact top sequences were at most index rank " + deepest + (outside > 0 ? ", and " + outside + " came from TF-IDF alone" : "");
    }

    /** K for --candidates, 0 for all. */
    static int parseCandidates(String value) {
        return positiveOr("--candidates", "all", value);
    }

    /** k for --rank, 0 for full. */
    static int parseRank(String value) {
        return positiveOr("--rank", "full", value);
    }

    /** A positive integer, or 0 for {@code word}; anything else names the flag in a one-line error. */
    private static int positiveOr(String flag, String word, String value) {
        if (value.equals(word)) return 0;
        try {
            int k = Integer.parseInt(value);
            if (k >= 1) return k;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new InputException(flag + " must be " + word + " or a positive integer, not '" + value + "'");
    }

    static List<Query> readQueries(Path file, Inputs.Opened in, int context) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw InputException.notFound(file + ": no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new InputException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return Query.fromJsonLines(file.toString(), lines, in.dir().tokenizer(), context);
    }

    private static void print(List<InfluenceAnalysis.QueryResult> results, Inputs.Opened in) {
        for (InfluenceAnalysis.QueryResult r : results) {
            System.out.printf("%n%s: %s|%s   (log p = %.3f nats)%n", r.query().id(), Terminal.line(r.query().prompt()),
                    Terminal.line(r.query().completion()), r.logProb());
            int rank = 1;
            for (InfluenceAnalysis.Hit h : r.top()) {
                String text = Terminal.line(in.store().text(h.sequence())).strip();
                if (text.length() > 90) text = text.substring(0, 87) + "...";
                String doc = ResultsJson.carryingDocument(in.store(), h);
                System.out.printf("  %2d. %+.4e (per copy %+.3e)  seq %d  %s  %s%n", rank++, h.score(), h.scorePerCopy(), h.sequence(), Terminal.line(doc), text);
            }
        }
    }
}
