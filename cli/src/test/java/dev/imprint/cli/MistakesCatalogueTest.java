package dev.imprint.cli;

import dev.imprint.io.OutputLock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The catalogue of user mistakes: each case runs one command against a trained model, fitted factors
 * and a committed results folder, and asserts the documented exit code, a single line on stderr
 * that starts with "imprint: " and names the problem, no stack trace, and every earlier output byte
 * for byte unchanged. The table of cases and their messages is printed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MistakesCatalogueTest {
    Path dir, corpus, model, factors, results, file, foreign;
    String cache;
    final List<String> table = new ArrayList<>();

    @BeforeAll
    void setUp(@TempDir Path tmp) throws Exception {
        dir = tmp;
        corpus = CliTest.corpus(dir);
        model = dir.resolve("model");
        factors = dir.resolve("factors");
        results = dir.resolve("results");
        cache = dir.resolve("cache").toString();
        assertEquals(0, CliTest.run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "10", "--cache", cache).code());
        assertEquals(0, CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                "--fitting-sequences", "8", "--cache", cache).code());
        assertEquals(0, query("--prompt", "Call me", "--completion", " Ishmael").code());
        file = Files.writeString(dir.resolve("a-file"), "not a folder");
        foreign = Files.createDirectories(dir.resolve("notes"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
    }

    @AfterAll
    void printTable() {
        System.out.println("case | exit code | message");
        table.forEach(System.out::println);
        System.out.println(table.size() + " cases");
    }

    /** {@code query} with {@code extra}, and the fixture's model, corpus, factors, cache, top, candidates and out where extra does not give them. */
    private CliTest.Run query(String... extra) {
        List<String> args = new ArrayList<>(List.of("query"));
        args.addAll(List.of(extra));
        String[][] defaults = {{"--model", model.toString()}, {"--corpus", corpus.toString()}, {"--factors", factors.toString()},
                {"--cache", cache}, {"--top", "2"}, {"--candidates", "all"}, {"--out", results.toString()}};
        for (String[] d : defaults)
            if (Arrays.stream(extra).noneMatch(a -> a.equals(d[0]))) args.addAll(List.of(d));
        return CliTest.run(args.toArray(String[]::new));
    }

    private Path queries(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    /** Everything under the model, factors and results folders, and the stray-file check's view of dir. */
    private Map<String, String> outputs() throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (Path root : List.of(model, factors, results, foreign)) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.filter(Files::isRegularFile).toList())
                    out.put(dir.relativize(p).toString(), Arrays.toString(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /**
     * The run's error: exactly one line starting "imprint: " (progress lines such as the model's size
     * may come before it, and picocli's "Try … --help" after), containing {@code fragment}; no trace.
     */
    private void expect(String name, int code, String fragment, CliTest.Run run) {
        String err = run.err().strip();
        List<String> problems = err.lines().filter(l -> l.startsWith("imprint: ")).toList();
        table.add(name + " | " + run.code() + " | " + String.join(" / ", problems));
        assertEquals(code, run.code(), name + ": " + run.err());
        assertEquals(1, problems.size(), name + ": " + err);
        assertTrue(!err.contains("\tat ") && !err.contains("Exception"), name + ": a stack trace or a Java class name: " + err);
        assertTrue(problems.getFirst().contains(fragment), name + ": expected '" + fragment + "' in " + err);
    }

    private void check(String name, int code, String fragment, java.util.concurrent.Callable<CliTest.Run> run) throws Exception {
        Map<String, String> before = outputs();
        CliTest.Run r = run.call();
        expect(name, code, fragment, r);
        assertEquals(before, outputs(), name + ": earlier outputs changed");
    }

    @Test
    void numbersOutOfRange() throws Exception {
        check("query --top 0", 2, "--top must be at least 1", () -> query("--prompt", "a", "--completion", "b", "--top", "0"));
        check("query --rank 0", 2, "--rank must be full or a positive integer", () -> query("--prompt", "a", "--completion", "b", "--rank", "0"));
        check("query --candidates -1", 2, "--candidates must be all or a positive integer", () -> query("--prompt", "a", "--completion", "b", "--candidates", "-1"));
        check("query --batch-size 0", 2, "--batch-size must be at least 1, not 0", () -> query("--prompt", "a", "--completion", "b", "--batch-size", "0"));
        check("query --seq-len -5", 2, "--seq-len must be at least 2, not -5", () -> query("--prompt", "a", "--completion", "b", "--seq-len", "-5"));
        check("query --seq-len beyond the context", 2, "exceeds the model context", () -> query("--prompt", "a", "--completion", "b", "--seq-len", "100000"));
        check("query --damping -1", 2, "--damping", () -> query("--prompt", "a", "--completion", "b", "--damping", "-1"));
        check("query --top x", 2, "--top", () -> query("--prompt", "a", "--completion", "b", "--top", "x"));
        check("train --steps -3", 2, "--steps must be at least 1, not -3",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "-3", "--cache", cache));
        check("train --steps 0", 2, "--steps must be at least 1, not 0",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "0", "--cache", cache));
        check("train a finished model again with other --steps", 4, "checkpoint was written with other training settings",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "20", "--cache", cache));
        String[] lds = {"validate", "lds", "--model", model.toString(), "--corpus", corpus.toString(), "--held-out-queries", "2",
                "--out", dir.resolve("lds-out").toString(), "--cache", cache};
        check("validate lds --subsets 1", 2, "--subsets must be at least 2", () -> CliTest.run(CliTest.concat(lds, "--subsets", "1")));
        check("validate lds --fraction 1.5", 2, "--fraction must lie in (0, 1)", () -> CliTest.run(CliTest.concat(lds, "--fraction", "1.5")));
        check("validate lds --attributions ekfac,bogus", 2, "unknown attribution 'bogus'", () -> CliTest.run(CliTest.concat(lds, "--attributions", "ekfac,bogus")));
        check("validate lds --attributions ekfac,ekfac", 2, "names one twice", () -> CliTest.run(CliTest.concat(lds, "--attributions", "ekfac,ekfac")));
        check("validate lds --batch-size 0", 2, "--batch-size must be at least 1", () -> CliTest.run(CliTest.concat(lds, "--batch-size", "0")));
        check("validate lds --lissa-depth 0", 2, "--lissa-depth must be at least 1", () -> CliTest.run(CliTest.concat(lds, "--attributions", "lissa", "--lissa-depth", "0")));
        check("validate recall --facts missing", 3, "no such file",
                () -> CliTest.run("validate", "recall", "--model", model.toString(), "--corpus", corpus.toString(), "--facts", dir.resolve("missing.jsonl").toString(),
                        "--out", dir.resolve("recall-out").toString(), "--cache", cache));
        check("corpus plant --facts 0", 2, "--facts must lie in 1..1000",
                () -> CliTest.run("corpus", "plant", "--into", corpus.toString(), "--facts", "0", "--out", dir.resolve("facts.jsonl").toString()));
        check("corpus plant --into a missing folder", 3, "no such folder",
                () -> CliTest.run("corpus", "plant", "--into", dir.resolve("nowhere").toString(), "--out", dir.resolve("facts.jsonl").toString()));
        check("index build --directions 0", 2, "--directions must be WxN or k with positive integers, not '0'",
                () -> CliTest.run("index", "build", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                        "--directions", "0", "--out", dir.resolve("index-out").toString(), "--cache", cache));
        check("index build --strategy diagonal", 2, "--strategy must be ekfac or kfac for an index",
                () -> CliTest.run("index", "build", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                        "--strategy", "diagonal", "--out", dir.resolve("index-out").toString(), "--cache", cache));
        check("index without a subcommand", 2, "missing subcommand", () -> CliTest.run("index"));
        check("query --index missing", 3, "no such index folder", () -> query("--prompt", "a", "--completion", "b", "--index", dir.resolve("no-index").toString()));
        check("query --index-candidates below --top", 2, "--index-candidates 1 must be at least --top 2",
                () -> query("--prompt", "a", "--completion", "b", "--index", dir.resolve("no-index").toString(), "--index-candidates", "1"));
        check("query --combine xor", 2, "--combine must be union or intersection", () -> query("--prompt", "a", "--completion", "b", "--combine", "xor"));
        check("fit --factor-blocks 0", 2, "--factor-blocks must be at least 1, not 0",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--factor-blocks", "0", "--cache", cache));
        check("fit --factor-blocks past a layer's width", 2, "factor blocks for layer",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--factor-blocks", "100000", "--cache", cache));
        check("init --shape unknown", 2, "unknown shape 'gpt5'",
                () -> CliTest.run("init", "--shape", "gpt5", "--out", factors.resolveSibling("init-out").toString()));
        check("fit --fitting-sequences 0", 2, "--fitting-sequences must be at least 1",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--fitting-sequences", "0", "--cache", cache));
        check("fit --fitting-tokens 0", 2, "--fitting-tokens must be at least 1",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--fitting-tokens", "0", "--cache", cache));
        check("corpus build --seq-len 1", 2, "--seq-len must be at least 2, not 1",
                () -> CliTest.run("corpus", "build", "--corpus", corpus.toString(), "--tokenizer", model.resolve("tokenizer.json").toString(),
                        "--seq-len", "1", "--out", dir.resolve("store").toString()));
        check("demo --top 0", 2, "--top must be at least 1, not 0", () -> CliTest.run("demo", "--top", "0", "--cache", cache));
        check("demo --fitting-sequences 0", 2, "--fitting-sequences must be at least 1, not 0", () -> CliTest.run("demo", "--fitting-sequences", "0", "--cache", cache));
    }

    @Test
    void flagsAndWords() throws Exception {
        check("unknown flag", 2, "Unknown option: '--bogus'", () -> query("--prompt", "a", "--completion", "b", "--bogus"));
        check("prompt without completion", 2, "--completion", () -> query("--prompt", "a"));
        check("query --strategy bogus", 2, "bogus", () -> query("--prompt", "a", "--completion", "b", "--strategy", "bogus"));
        check("fit --layers bogus", 2, "--layers must be mlp or all, not 'bogus'",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--layers", "bogus", "--cache", cache));
        check("train --preset huge", 2, "unknown preset 'huge'",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", dir.resolve("m2").toString(), "--preset", "huge", "--cache", cache));
    }

    @Test
    void moreFlags() throws Exception {
        check("query --rescore below --top", 2, "--rescore 1 must be at least --top 2",
                () -> query("--prompt", "a", "--completion", "b", "--rank", "4", "--rescore", "1"));
        check("query --queries a folder", 2, "cannot read", () -> query("--queries", dir.toString()));
        check("query --layers bogus", 2, "--layers must be mlp or all, not 'bogus'", () -> query("--prompt", "a", "--completion", "b", "--layers", "bogus"));
        check("self-influence --batch-size 0", 2, "--batch-size must be at least 1, not 0",
                () -> CliTest.run("self-influence", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                        "--out", dir.resolve("self").toString(), "--batch-size", "0", "--cache", cache));
        check("fit --batch-size -1", 2, "--batch-size must be at least 1, not -1",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--batch-size", "-1", "--cache", cache));
        check("train --corpus missing", 3, "no such corpus file or folder",
                () -> CliTest.run("train", "--corpus", dir.resolve("nocorpus").toString(), "--out", dir.resolve("m3").toString(), "--preset", "tiny", "--cache", cache));
        check("train --arch bert", 2, "unknown architecture 'bert'",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", dir.resolve("m3").toString(), "--preset", "tiny", "--arch", "bert", "--cache", cache));
        check("demo --arch bert", 2, "unknown architecture 'bert'", () -> CliTest.run("demo", "--arch", "bert", "--cache", cache));
        check("demo --rank 0", 2, "--rank must be full or a positive integer", () -> CliTest.run("demo", "--rank", "0", "--cache", cache));
        check("corpus build --out a file", 2, "is a file; the output must be a folder",
                () -> CliTest.run("corpus", "build", "--corpus", corpus.toString(), "--tokenizer", model.resolve("tokenizer.json").toString(),
                        "--out", file.toString()));
    }

    @Test
    void outputFolders() throws Exception {
        check("query --out a file", 2, file + " is a file; the output must be a folder",
                () -> query("--prompt", "a", "--completion", "b", "--out", file.toString()));
        check("train --out a file", 2, file + " is a file; the output must be a folder",
                () -> CliTest.run("train", "--corpus", corpus.toString(), "--out", file.toString(), "--preset", "tiny", "--steps", "1", "--cache", cache));
        check("self-influence --out a file", 2, "is a file; the output must be a folder",
                () -> CliTest.run("self-influence", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                        "--out", file.toString(), "--cache", cache));
        check("query --out a folder of other files", 2, "holds notes.txt, which query does not write",
                () -> query("--prompt", "a", "--completion", "b", "--out", foreign.toString()));
        try (OutputLock held = OutputLock.acquire(results, "query")) {
            check("query --out a folder another run writes", 6, results + " is being written by another imprint run (pid ",
                    () -> query("--prompt", "a", "--completion", "b"));
            check("report on a folder another run writes", 6, "is being written by another imprint run", () -> CliTest.run("report", results.toString()));
        }
        try (OutputLock held = OutputLock.acquire(factors, "fit")) {
            check("fit into factors another run fits", 6, factors + " is being written by another imprint run",
                    () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                            "--fitting-sequences", "8", "--cache", cache));
        }
        check("fit with another seed into fitted factors", 4, "seed",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                        "--fitting-sequences", "8", "--seed", "9", "--cache", cache));
    }

    @Test
    void queryFiles() throws Exception {
        check("--queries missing", 3, "no such file", () -> query("--queries", dir.resolve("absent.jsonl").toString()));
        check("--queries empty", 2, "no queries", () -> query("--queries", queries("empty.jsonl", "\n\n").toString()));
        check("--queries not JSON", 2, ":1: not valid JSON", () -> query("--queries", queries("bad.jsonl", "{prompt: 1\n").toString()));
        check("--queries without completion", 2, ":1: needs string fields \"prompt\" and \"completion\"",
                () -> query("--queries", queries("nocompletion.jsonl", "{\"prompt\": \"a\"}\n").toString()));
        check("--queries numeric id", 2, ":1: \"id\" must be a string",
                () -> query("--queries", queries("numid.jsonl", "{\"id\": 3, \"prompt\": \"a\", \"completion\": \"b\"}\n").toString()));
        check("--queries duplicate ids", 2, ":2: query id 'x' is already used on line 1",
                () -> query("--queries", queries("dup.jsonl", "{\"id\": \"x\", \"prompt\": \"a\", \"completion\": \"b\"}\n"
                        + "{\"id\": \"x\", \"prompt\": \"c\", \"completion\": \"d\"}\n").toString()));
        check("--queries id with a newline", 2, "contains a control character (U+000A) at character 2; ids must be printable",
                () -> query("--queries", queries("newline.jsonl", "{\"id\": \"a\\nb\", \"prompt\": \"a\", \"completion\": \"b\"}\n").toString()));
        check("--queries id with ESC", 2, "contains a control character (U+001B)",
                () -> query("--queries", queries("esc.jsonl", "{\"id\": \"\\u001b[31m\", \"prompt\": \"a\", \"completion\": \"b\"}\n").toString()));
        check("--queries empty id", 2, "a query id is empty",
                () -> query("--queries", queries("emptyid.jsonl", "{\"id\": \" \", \"prompt\": \"a\", \"completion\": \"b\"}\n").toString()));
        check("--queries lone surrogate in the prompt", 2, "the prompt contains an unpaired surrogate (U+D800)",
                () -> query("--queries", queries("surrogate.jsonl", "{\"prompt\": \"a\\ud800\", \"completion\": \"b\"}\n").toString()));
        check("--queries empty completion", 2, "the completion is empty",
                () -> query("--queries", queries("emptycompletion.jsonl", "{\"prompt\": \"a\", \"completion\": \"\"}\n").toString()));
        check("--queries longer than the context", 2, "more than the model context",
                () -> query("--queries", queries("long.jsonl", "{\"prompt\": \"" + "whale ".repeat(400) + "\", \"completion\": \"b\"}\n").toString()));
        check("--queries not UTF-8", 2, "not UTF-8 text", () -> {
            Path latin1 = dir.resolve("latin1.jsonl");
            Files.write(latin1, new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xE9, '"', '}', '\n'});
            return query("--queries", latin1.toString());
        });
    }

    @Test
    void modelsFactorsAndResults() throws Exception {
        check("--model missing", 3, "no such model folder", () -> query("--prompt", "a", "--completion", "b", "--model", dir.resolve("nope").toString()));
        Path noTokenizer = copyModel("no-tokenizer");
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        check("model without tokenizer.json", 3, "no tokenizer.json", () -> query("--prompt", "a", "--completion", "b", "--model", noTokenizer.toString()));
        Path garbage = copyModel("garbage-tokenizer");
        Files.writeString(garbage.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Nope\", \"vocab\": {\"<|endoftext|>\": 0}}}");
        check("garbage tokenizer.json", 2, "not a valid Hugging Face tokenizer", () -> query("--prompt", "a", "--completion", "b", "--model", garbage.toString()));
        Path fewer = copyModel("fewer-layers");
        Files.writeString(fewer.resolve("config.json"), Files.readString(fewer.resolve("config.json")).replaceFirst("\"n_layer\"\\s*:\\s*\\d+", "\"n_layer\": 1"));
        check("config with fewer layers than the weights", 2, "is not part of a gpt2 model with this config",
                () -> query("--prompt", "a", "--completion", "b", "--model", fewer.toString()));
        Path huge = copyModel("huge-config");
        Files.writeString(huge.resolve("config.json"), Files.readString(huge.resolve("config.json"))
                .replaceFirst("\"n_layer\"\\s*:\\s*\\d+", "\"n_layer\": 400").replaceFirst("\"n_embd\"\\s*:\\s*\\d+", "\"n_embd\": 8192"));
        check("config far larger than the weights", 2, "' has shape [",
                () -> query("--prompt", "a", "--completion", "b", "--model", huge.toString()));
        check("--factors missing", 3, "no fitted factors here", () -> query("--prompt", "a", "--completion", "b", "--factors", dir.resolve("nofactors").toString()));
        check("report without results.json", 3, "no results.json", () -> CliTest.run("report", dir.resolve("noresults").toString()));
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var topNull = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(results.resolve("results.json").toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) topNull.get("queries").get(0)).putNull("top");
        for (String[] bad : new String[][] {{"no queries", "{\"run\": {}}", "not a results file (no \"queries\")"},
                {"no run", "{\"queries\": []}", "not a results file (no \"run\")"},
                {"top null", topNull.toString(), "query 1 lacks its id, prompt, completion or top sequences"},
                {"not JSON", "{\"run\":", "not a results file ("}, {"an unknown field", "{\"runs\": 1}", "not a results file ("}}) {
            Path r = Files.createDirectories(dir.resolve("bad-results-" + bad[0].replace(' ', '-')));
            Files.writeString(r.resolve("results.json"), bad[1]);
            check("report on results.json with " + bad[0], 2, bad[2], () -> CliTest.run("report", r.toString()));
        }
    }

    @Test
    void corporaWeightsAndFactorFiles() throws Exception {
        check("--corpus missing", 3, "nope", () -> query("--prompt", "a", "--completion", "b", "--corpus", dir.resolve("nope").toString()));
        Path emptyCorpus = Files.createDirectories(dir.resolve("empty-corpus"));
        check("--corpus an empty folder", 2, "empty-corpus", () -> query("--prompt", "a", "--completion", "b", "--corpus", emptyCorpus.toString()));
        Path badJsonl = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\"}\n{not json\n");
        check("--corpus a .jsonl with a malformed line", 2, "bad.jsonl:2", () -> query("--prompt", "a", "--completion", "b", "--corpus", badJsonl.toString()));
        Path noText = Files.writeString(dir.resolve("notext.jsonl"), "{\"body\": \"no text field\"}\n");
        check("--corpus a .jsonl without text fields", 2, "notext.jsonl:1", () -> query("--prompt", "a", "--completion", "b", "--corpus", noText.toString()));
        Path odd = Files.writeString(dir.resolve("corpus.docx"), "binary");
        check("--corpus a file of another kind", 2, "corpus.docx", () -> query("--prompt", "a", "--completion", "b", "--corpus", odd.toString()));
        check("corpus build --tokenizer missing", 3, "no such file",
                () -> CliTest.run("corpus", "build", "--corpus", corpus.toString(), "--tokenizer", dir.resolve("absent.json").toString(),
                        "--out", dir.resolve("store2").toString()));

        Path truncated = copyModel("truncated-weights");
        byte[] w = Files.readAllBytes(truncated.resolve("model.safetensors"));
        Files.write(truncated.resolve("model.safetensors"), Arrays.copyOf(w, w.length / 2));
        check("truncated model.safetensors", 2, "model.safetensors", () -> query("--prompt", "a", "--completion", "b", "--model", truncated.toString()));
        Path garbage = copyModel("garbage-weights");
        Files.writeString(garbage.resolve("model.safetensors"), "this is not a safetensors file at all");
        check("garbage model.safetensors", 2, "model.safetensors", () -> query("--prompt", "a", "--completion", "b", "--model", garbage.toString()));
        Path noWeights = copyModel("no-weights");
        Files.delete(noWeights.resolve("model.safetensors"));
        check("model without weights", 3, "no-weights", () -> query("--prompt", "a", "--completion", "b", "--model", noWeights.toString()));
        Path badConfig = copyModel("malformed-config");
        Files.writeString(badConfig.resolve("config.json"), "{\"model_type\": \"gpt2\",");
        check("malformed config.json", 2, "config.json: malformed JSON", () -> query("--prompt", "a", "--completion", "b", "--model", badConfig.toString()));
        Path mixtral = copyModel("mixtral-config");
        Files.writeString(mixtral.resolve("config.json"), "{\"model_type\": \"mixtral\"}");
        check("config.json of an unsupported model type", 2, "model_type 'mixtral' is not supported", () -> query("--prompt", "a", "--completion", "b", "--model", mixtral.toString()));
        Path noConfig = copyModel("no-config");
        Files.delete(noConfig.resolve("config.json"));
        check("model without config.json", 3, "config.json: no such file", () -> query("--prompt", "a", "--completion", "b", "--model", noConfig.toString()));

        Path unfinished = copyModel("unfinished-training");
        Files.createDirectories(unfinished.resolve("checkpoint"));
        Files.writeString(unfinished.resolve("checkpoint/state.json"), "{}");
        check("trained model folder without its manifest (training cut short)", 2, "its training has not finished",
                () -> query("--prompt", "a", "--completion", "b", "--model", unfinished.toString()));
        Path changed = copyModel("changed-after-training");
        Files.copy(model.resolve("manifest.json"), changed.resolve("manifest.json"));
        Files.writeString(changed.resolve("config.json"), Files.readString(changed.resolve("config.json")) + "\n");
        check("trained model with a file changed after training", 2, "config.json differs from the file that was written",
                () -> query("--prompt", "a", "--completion", "b", "--model", changed.toString()));

        Path cut = copyFactors("truncated-factors");
        Path lambda = cut.resolve("lambda_matrix.safetensors");
        byte[] l = Files.readAllBytes(lambda);
        Files.write(lambda, Arrays.copyOf(l, l.length - 16));
        check("truncated factor file", 2, "lambda_matrix.safetensors", () -> query("--prompt", "a", "--completion", "b", "--factors", cut.toString()));
        Path flipped = copyFactors("flipped-factors");
        byte[] fl = Files.readAllBytes(flipped.resolve("lambda_matrix.safetensors"));
        fl[fl.length - 3] ^= 0x10; // inside the last layer's Λ: a finite, positive value changed in place, the header untouched
        Files.write(flipped.resolve("lambda_matrix.safetensors"), fl);
        check("factor value changed on disk", 2, "is damaged (its bytes do not match the CRC32C written with them)",
                () -> query("--prompt", "a", "--completion", "b", "--factors", flipped.toString()));
        for (double bad : new double[] {Double.NaN, -1}) {
            Path edited = copyFactors("edited-factors-" + bad);
            editFirstValue(edited.resolve("lambda_matrix.safetensors"), bad);
            check("factor file with " + bad + " in Λ", 2, Double.isNaN(bad) ? "contains NaN or infinity; the file is damaged" : "has a negative entry",
                    () -> query("--prompt", "a", "--completion", "b", "--factors", edited.toString()));
        }
        Path noArgs = copyFactors("factors-without-arguments");
        Files.delete(noArgs.resolve("factor_arguments.json"));
        check("factors without factor_arguments.json", 3, "no fitted factors here", () -> query("--prompt", "a", "--completion", "b", "--factors", noArgs.toString()));
        Path emptyArgs = copyFactors("factors-empty-arguments");
        Files.writeString(emptyArgs.resolve("factor_arguments.json"), "[]");
        check("factor_arguments.json that is []", 2, "factor_arguments.json", () -> query("--prompt", "a", "--completion", "b", "--factors", emptyArgs.toString()));
        check("self-influence --top 0", 2, "--top must be at least 1",
                () -> CliTest.run("self-influence", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                        "--out", dir.resolve("self").toString(), "--top", "0", "--cache", cache));
        check("fit --strategy bogus", 2, "unknown strategy 'bogus'",
                () -> CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(), "--strategy", "bogus", "--cache", cache));
        check("report on a file", 3, "no results.json", () -> CliTest.run("report", file.toString()));
    }

    /** Text that reaches the terminal has its control characters shown, not sent: an ESC in a prompt does not recolour it. */
    @Test
    void controlCharactersNeverReachTheTerminal() {
        CliTest.Run r = query("--prompt", "Call \u001b[31mme", "--completion", " Ishmael", "--out", dir.resolve("esc-results").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Call \u241b[31mme"), r.out());
        assertTrue(r.out().chars().noneMatch(c -> c == 0x1b), "no ESC on stdout");
    }

    /** Rewrites a float64 factor file with its first layer's first value replaced, keeping its metadata (so its fingerprint still matches). */
    private static void editFirstValue(Path file, double value) {
        Map<String, dev.imprint.io.SafeTensors.Tensor> tensors = new java.util.LinkedHashMap<>();
        Map<String, String> meta;
        try (dev.imprint.io.SafeTensors st = dev.imprint.io.SafeTensors.open(file)) {
            meta = new java.util.LinkedHashMap<>(st.metadata());
            boolean first = true;
            for (var info : st.tensors().values()) {
                double[] v = st.doubles(info.name());
                if (first) v[0] = value;
                first = false;
                tensors.put(info.name(), dev.imprint.io.SafeTensors.Tensor.f64(v, info.shape()));
            }
        }
        dev.imprint.io.SafeTensors.write(file, tensors, meta);
    }

    private Path copyFactors(String name) throws IOException {
        Path to = Files.createDirectories(dir.resolve(name));
        try (Stream<Path> files = Files.list(factors)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    /** The trained model's files as a Hugging Face folder: without the manifest that {@code train} seals its folder with. */
    private Path copyModel(String name) throws IOException {
        Path to = Files.createDirectories(dir.resolve(name));
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.filter(Files::isRegularFile).toList())
                if (!f.getFileName().toString().equals("manifest.json")) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }
}
