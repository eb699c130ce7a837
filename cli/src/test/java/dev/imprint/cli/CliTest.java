package dev.imprint.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The command line end to end on a toy corpus, and its answers to user mistakes. */
class CliTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static Path corpus(Path dir) throws Exception {
        Path c = Files.createDirectories(dir.resolve("corpus"));
        for (int i = 0; i < 24; i++)
            Files.writeString(c.resolve("doc" + i + ".txt"), "The whale swam past ship number " + i
                    + " while the captain watched the sea. Call me Ishmael, said the sailor to the crew.\n");
        return c;
    }

    @Test
    void trainFitQueryAndReportOnAToyCorpus(@TempDir Path dir) throws Exception {
        Path corpus = corpus(dir), model = dir.resolve("model"), factors = dir.resolve("factors"), results = dir.resolve("results");
        String cache = dir.resolve("cache").toString();
        Run train = run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "40", "--cache", cache);
        assertEquals(0, train.code(), train.err());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "training.json"})
            assertTrue(Files.exists(model.resolve(f)), f);

        Run fit = run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                "--fitting-sequences", "16", "--cache", cache);
        assertEquals(0, fit.code(), fit.err());
        assertTrue(Files.exists(factors.resolve("lambda_matrix.safetensors")));

        Run query = run("query", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                "--prompt", "Call me", "--completion", " Ishmael", "--out", results.toString(), "--top", "3", "--rank", "4",
                "--candidates", "5", "--cache", cache);
        assertEquals(0, query.code(), query.err());
        JsonNode json = new ObjectMapper().readTree(results.resolve("results.json").toFile());
        JsonNode q = json.get("queries").get(0);
        assertEquals(" Ishmael", q.get("completion").asText());
        assertEquals(3, q.get("top").size());
        assertEquals("5", json.get("run").get("candidates").asText());
        double score = q.get("top").get(0).get("score").asDouble(), tokens = 0;
        for (JsonNode t : q.get("top").get(0).get("tokens")) tokens += t.get("score").asDouble();
        assertEquals(score, tokens, 1e-6 * Math.abs(score), "token scores sum to the sequence score");
        // per copy is over the sequences the model trained on: 320 draws cover the training split, which holds out one sequence
        int N = json.get("run").get("trained_on").asInt();
        assertEquals(json.get("run").get("sequences").asInt() - 1, N);
        assertEquals(score / N, q.get("top").get(0).get("score_per_copy").asDouble(), 1e-12 * Math.abs(score));
        for (JsonNode t : q.get("top")) assertTrue(t.get("trained").isBoolean(), t.toString());
        assertTrue(Files.readString(results.resolve("report.html")).contains("TF-IDF filtering used"));

        Files.delete(results.resolve("report.html"));
        Run report = run("report", results.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(Files.exists(results.resolve("report.html")));

        // self-influence of every sequence: all values written, the highest listed first
        Run self = run("self-influence", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                "--out", dir.resolve("self").toString(), "--top", "3", "--cache", cache);
        assertEquals(0, self.code(), self.err());
        JsonNode selfJson = new ObjectMapper().readTree(dir.resolve("self/self_influence.json").toFile());
        double[] all;
        try (dev.imprint.io.SafeTensors st = dev.imprint.io.SafeTensors.open(dir.resolve("self/self_influence.safetensors"))) {
            all = st.doubles("self_influence");
        }
        assertEquals(selfJson.get("sequences").asInt(), all.length);
        assertEquals(3, selfJson.get("top").size());
        assertEquals(java.util.Arrays.stream(all).max().orElseThrow(), selfJson.get("top").get(0).get("self_influence").asDouble());
        assertTrue(selfJson.get("top").get(1).get("self_influence").asDouble() <= selfJson.get("top").get(0).get("self_influence").asDouble());
        assertTrue(java.util.Arrays.stream(all).allMatch(v -> v > 0), "EK-FAC's inverse is positive definite");

        // a gradient index: with every sequence a candidate, the exact top-3; with 3, the report says the index chose them
        Run index = run("index", "build", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                "--directions", "4", "--out", dir.resolve("index").toString(), "--cache", cache);
        assertEquals(0, index.code(), index.err());
        assertTrue(Files.exists(dir.resolve("index/index.json")) && Files.exists(dir.resolve("index/manifest.json")));
        String[] exactArgs = {"query", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                "--prompt", "Call me", "--completion", " Ishmael", "--top", "3", "--cache", cache};
        Run exact = run(concat(exactArgs, "--candidates", "all", "--out", dir.resolve("exact").toString()));
        Run everyCandidate = run(concat(exactArgs, "--index", dir.resolve("index").toString(), "--index-candidates", "100000", "--out", dir.resolve("by-index").toString()));
        Run three = run(concat(exactArgs, "--index", dir.resolve("index").toString(), "--index-candidates", "3", "--out", dir.resolve("by-index-3").toString()));
        // without --index, a --top above the default --index-candidates is no mistake
        Run wideTop = run("query", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(),
                "--prompt", "Call me", "--completion", " Ishmael", "--top", "101", "--candidates", "all", "--cache", cache, "--out", dir.resolve("wide-top").toString());
        for (Run r : new Run[] {exact, everyCandidate, three, wideTop}) assertEquals(0, r.code(), r.err());
        JsonNode exactTop = new ObjectMapper().readTree(dir.resolve("exact/results.json").toFile()).get("queries").get(0).get("top");
        JsonNode everyTop = new ObjectMapper().readTree(dir.resolve("by-index/results.json").toFile()).get("queries").get(0).get("top");
        for (int i = 0; i < 3; i++) assertEquals(exactTop.get(i).get("sequence").asInt(), everyTop.get(i).get("sequence").asInt(), "rank " + i);
        JsonNode threeJson = new ObjectMapper().readTree(dir.resolve("by-index-3/results.json").toFile());
        assertTrue(threeJson.get("run").get("candidates").asText().startsWith("index: the top 3 by the gradient index index"), threeJson.get("run").toString());
        assertTrue(threeJson.get("run").get("candidates").asText().endsWith("; the exact top sequences were at most index rank 3"), threeJson.get("run").toString());
        assertTrue(Files.readString(dir.resolve("by-index-3/report.html")).contains("Gradient index used"));

        // refitting into the same folder with another seed is refused, naming the argument
        Run refit = run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                "--fitting-sequences", "16", "--seed", "9", "--cache", cache);
        assertEquals(4, refit.code());
        assertTrue(refit.err().contains("seed"), refit.err());
        assertEquals(1, refit.err().strip().lines().filter(l -> l.startsWith("imprint:")).count(), refit.err());

        // a token budget instead of a count; not both
        Run byTokens = run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", dir.resolve("factors-tokens").toString(),
                "--fitting-tokens", "500", "--strategy", "diagonal", "--cache", cache);
        assertEquals(0, byTokens.code(), byTokens.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("fitted on (\\d+) sequences, (\\d+) tokens").matcher(byTokens.out());
        assertTrue(m.find(), byTokens.out());
        assertTrue(Long.parseLong(m.group(2)) >= 500, byTokens.out());
        Run both = run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", dir.resolve("f2").toString(),
                "--fitting-sequences", "4", "--fitting-tokens", "500", "--cache", cache);
        assertEquals(2, both.code());
        assertTrue(both.err().startsWith("imprint: give --fitting-sequences or --fitting-tokens"), both.err());
    }

    /** Each architecture through the whole CLI, tracking every linear layer: train (tiny) → fit → query → report. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"llama, llama, model.layers.1.self_attn.k_proj", "neox, gpt_neox, gpt_neox.layers.1.attention.query_key_value"})
    void everyArchitectureTrainsFitsAndScores(String arch, String modelType, String attentionLayer, @TempDir Path dir) throws Exception {
        Path corpus = corpus(dir), model = dir.resolve("model"), factors = dir.resolve("factors"), results = dir.resolve("results");
        String cache = dir.resolve("cache").toString();
        Run train = run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--arch", arch, "--steps", "30", "--cache", cache);
        assertEquals(0, train.code(), train.err());
        assertEquals(modelType, new ObjectMapper().readTree(model.resolve("config.json").toFile()).get("model_type").asText());
        Run fit = run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                "--fitting-sequences", "16", "--layers", "all", "--cache", cache);
        assertEquals(0, fit.code(), fit.err());
        assertTrue(fit.err().contains("model: " + modelType), fit.err());
        Run query = run("query", "--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(), "--layers", "all",
                "--prompt", "Call me", "--completion", " Ishmael", "--out", results.toString(), "--top", "3", "--rank", "full",
                "--candidates", "all", "--cache", cache);
        assertEquals(0, query.code(), query.err());
        JsonNode json = new ObjectMapper().readTree(results.resolve("results.json").toFile());
        assertTrue(json.get("run").toString().contains(attentionLayer), json.get("run").toString());
        JsonNode top = json.get("queries").get(0).get("top");
        assertEquals(3, top.size());
        double score = top.get(0).get("score").asDouble(), tokens = 0;
        for (JsonNode t : top.get(0).get("tokens")) tokens += t.get("score").asDouble();
        assertEquals(score, tokens, 1e-6 * Math.abs(score), "token scores sum to the sequence score");
        Files.delete(results.resolve("report.html"));
        Run report = run("report", results.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(Files.exists(results.resolve("report.html")));
    }

    @Test
    void unknownModelTypesAndUnsupportedOptionsAreOneLineExitTwo(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("m"));
        for (String config : new String[] {"{\"model_type\": \"mixtral\"}",
                "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_hidden_layers\": 1, "
                        + "\"intermediate_size\": 96, \"vocab_size\": 100, \"use_sliding_window\": true}"}) {
            Files.writeString(model.resolve("config.json"), config);
            Run r = run("fit", "--model", model.toString(), "--corpus", dir.toString(), "--out", dir.resolve("f").toString());
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("imprint: " + model.resolve("config.json") + ": "), r.err());
        }
    }

    @Test
    void userMistakesGetOneLineAndExitCodeTwo(@TempDir Path dir) throws Exception {
        Run unknown = run("fit", "--bogus");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().startsWith("imprint: "), unknown.err());

        Run missing = run("query", "--model", dir.resolve("nope").toString(), "--corpus", dir.toString(), "--factors", dir.toString(),
                "--prompt", "a", "--completion", "b", "--out", dir.resolve("o").toString());
        assertEquals(3, missing.code());
        assertEquals("imprint: " + dir.resolve("nope") + ": no such model folder", missing.err().strip());

        Path model = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": 1}");
        Run badConfig = run("fit", "--model", model.toString(), "--corpus", dir.toString(), "--out", dir.resolve("f").toString());
        assertEquals(2, badConfig.code());
        assertTrue(badConfig.err().startsWith("imprint: ") && badConfig.err().contains("config.json"), badConfig.err());
        assertFalse(badConfig.err().contains("\tat "), "no stack trace for a user mistake");

        Run badPreset = run("train", "--corpus", corpus(dir).toString(), "--out", dir.resolve("m").toString(), "--preset", "huge");
        assertEquals(2, badPreset.code());
        assertEquals("imprint: unknown preset 'huge' (expected tiny or demo)", badPreset.err().strip());
        Run badArch = run("train", "--corpus", corpus(dir).toString(), "--out", dir.resolve("m").toString(), "--preset", "tiny", "--arch", "bert");
        assertEquals(2, badArch.code());
        assertEquals("imprint: unknown architecture 'bert' (expected gpt2, llama or neox)", badArch.err().strip());
    }
}
