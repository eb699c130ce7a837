package dev.imprint.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.imprint.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code imprint validate lds} in miniature: a tiny model that memorizes a small corpus, retrained
 * on a few subsets. Queried on its own training documents, whether a document's sequence is in a
 * subset decides the query's log p after retraining, so an influence that scores a sequence high
 * on its own text predicts retraining well, and a random ranking does not.
 */
class ValidateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** 40 documents of made-up words, each drawn at random: nothing to learn but the documents themselves. */
    static List<String> documents() {
        Random rng = new Random(11);
        String[] syllables = {"ka", "lo", "mi", "ru", "te", "sa", "no", "vi", "da", "pe", "zu", "ho"};
        List<String> docs = new ArrayList<>();
        for (int d = 0; d < 40; d++) {
            StringBuilder s = new StringBuilder();
            for (int w = 0; w < 14; w++) {
                if (w > 0) s.append(' ');
                for (int k = 0; k < 2 + rng.nextInt(2); k++) s.append(syllables[rng.nextInt(syllables.length)]);
            }
            docs.add(s.append(".\n").toString());
        }
        return docs;
    }

    @Test
    void ldsRanksInfluenceAboveRandomAndResumesFromItsStages(@TempDir Path dir) throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus")), model = dir.resolve("model"), out = dir.resolve("lds");
        List<String> docs = documents();
        for (int d = 0; d < docs.size(); d++) Files.writeString(corpus.resolve(String.format("doc%02d.txt", d)), docs.get(d));
        String cache = dir.resolve("cache").toString();
        CliTest.Run train = run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "120", "--cache", cache);
        assertEquals(0, train.code(), train.err());

        // queries: six training documents, the first half of the words the prompt
        StringBuilder queries = new StringBuilder();
        for (int d = 0; d < 6; d++) {
            String text = docs.get(d * 6).strip();
            int cut = text.indexOf(' ', text.length() / 2);
            queries.append(JSON.createObjectNode().put("id", "doc" + d * 6).put("prompt", text.substring(0, cut)).put("completion", text.substring(cut))).append('\n');
        }
        Path q = Files.writeString(dir.resolve("queries.jsonl"), queries);
        String[] args = {"validate", "lds", "--model", model.toString(), "--corpus", corpus.toString(), "--cache", cache, "--queries", q.toString(),
                "--subsets", "8", "--attributions", "ekfac,identity,random", "--out", out.toString()};
        CliTest.Run first = run(args);
        assertEquals(0, first.code(), first.err());
        JsonNode v = JSON.readTree(out.resolve("validation.json").toFile());
        assertEquals(8, v.get("subsets").asInt());
        assertEquals(8, v.get("retrained_now").asInt());
        assertEquals(8, v.get("actual").size());
        assertEquals(6, v.get("actual").get(0).size());
        double ekfac = v.at("/lds/ekfac/mean").asDouble(), random = v.at("/lds/random/mean").asDouble();
        System.out.printf("LDS in miniature: ekfac %.3f, identity %.3f, random %.3f%n", ekfac, v.at("/lds/identity/mean").asDouble(), random);
        assertTrue(ekfac > 0.5, "EK-FAC LDS " + ekfac + " on memorized documents");
        assertTrue(ekfac > random + 0.3, "EK-FAC " + ekfac + " against random " + random);
        assertTrue(ekfac > v.at("/lds/identity/mean").asDouble(), "EK-FAC " + ekfac + " against the gradient dot product (identity)");
        assertTrue(v.at("/lds/ekfac/ci/0").asDouble() <= ekfac && ekfac <= v.at("/lds/ekfac/ci/1").asDouble());
        assertTrue(Files.readString(out.resolve("report.html")).contains("Linear datamodeling score"));

        // a second run finds every retrained model and every score on disk, and says the same
        CliTest.Run second = run(args);
        assertEquals(0, second.code(), second.err());
        JsonNode w = JSON.readTree(out.resolve("validation.json").toFile());
        assertEquals(0, w.get("retrained_now").asInt());
        assertEquals(v.get("lds").get("ekfac").get("per_query"), w.get("lds").get("ekfac").get("per_query"));
        assertEquals(v.get("actual"), w.get("actual"));

        // against the exact GNH of the same fitting sample (its solve is checked against the explicit matrix in
        // ExactPreconditionerTest); with 40 fitting sequences and D ≈ 16,000 the damping dominates the exact G, so
        // no ordering of the strategies is asserted at this size, only that each is a correlation over every sequence
        Path exactOut = dir.resolve("exact");
        CliTest.Run exact = run("validate", "exact", "--model", model.toString(), "--corpus", corpus.toString(), "--cache", cache,
                "--queries", q.toString(), "--stages", out + ".stages", "--out", exactOut.toString());
        assertEquals(0, exact.code(), exact.err());
        JsonNode x = JSON.readTree(exactOut.resolve("validation.json").toFile());
        double ekfacR = x.at("/exact/ekfac/pearson").asDouble(), identityR = x.at("/exact/identity/pearson").asDouble();
        System.out.printf("against the exact GNH in miniature: ekfac %.4f, kfac %.4f, diagonal %.4f, identity %.4f%n", ekfacR,
                x.at("/exact/kfac/pearson").asDouble(), x.at("/exact/diagonal/pearson").asDouble(), identityR);
        for (String strategy : new String[] {"ekfac", "kfac", "diagonal", "identity"}) {
            double r = x.at("/exact/" + strategy + "/pearson").asDouble();
            assertTrue(r > 0 && r <= 1, strategy + ": " + r);
            assertEquals(6, x.at("/exact/" + strategy + "/per_query_pearson").size());
        }
        assertEquals(v.at("/training_sequences").asInt() + 1, x.at("/sequences").asInt(), "every sequence of the store is scored");
        String exactHtml = Files.readString(exactOut.resolve("report.html"));
        assertTrue(exactHtml.contains("Against the exact damped Gauss-Newton Hessian") && exactHtml.contains("<td>ekfac</td>"), "exact report");

        // stages inside the output folder would be replaced with it: refused before any work
        CliTest.Run nested = run("validate", "exact", "--model", model.toString(), "--corpus", corpus.toString(), "--cache", cache,
                "--queries", q.toString(), "--stages", exactOut.resolve("stages").toString(), "--out", exactOut.toString());
        assertEquals(2, nested.code(), nested.err());
        assertTrue(nested.err().contains("must be separate folders"), nested.err());

        // a model without a recipe is refused in one line
        Files.delete(model.resolve("training.json"));
        CliTest.Run noRecipe = run(args);
        assertEquals(3, noRecipe.code());
        assertTrue(noRecipe.err().contains("training.json"), noRecipe.err());
        assertEquals(1, noRecipe.err().strip().lines().count(), noRecipe.err());
    }

    @Test
    void recallFindsThePlantedSourcesOfFactsAndRandomDoesNot(@TempDir Path dir) throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus")), model = dir.resolve("model"), facts = dir.resolve("facts.jsonl");
        List<String> docs = documents();
        for (int d = 0; d < 20; d++) Files.writeString(corpus.resolve(String.format("doc%02d.txt", d)), docs.get(d));
        CliTest.Run plant = run("corpus", "plant", "--into", corpus.toString(), "--facts", "8", "--out", facts.toString());
        assertEquals(0, plant.code(), plant.err());
        assertEquals(8, Files.readAllLines(facts).size());
        assertTrue(Files.exists(corpus.resolve("planted/fact-007-b.txt")));
        CliTest.Run again = run("corpus", "plant", "--into", corpus.toString(), "--facts", "8", "--out", facts.toString());
        assertEquals(2, again.code(), "planting twice into one folder is refused: " + again.err());
        String cache = dir.resolve("cache").toString();
        CliTest.Run train = run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "120", "--cache", cache);
        assertEquals(0, train.code(), train.err());
        Path out = dir.resolve("recall");
        CliTest.Run recall = run("validate", "recall", "--model", model.toString(), "--corpus", corpus.toString(), "--cache", cache,
                "--facts", facts.toString(), "--attributions", "ekfac,tfidf,random", "--out", out.toString());
        assertEquals(0, recall.code(), recall.err());
        JsonNode v = JSON.readTree(out.resolve("validation.json").toFile());
        double ekfac = v.at("/recall/ekfac/mrr").asDouble(), random = v.at("/recall/random/mrr").asDouble();
        System.out.printf("recall in miniature: MRR ekfac %.3f, tfidf %.3f, random %.3f%n", ekfac, v.at("/recall/tfidf/mrr").asDouble(), random);
        assertTrue(ekfac > 0.5 && ekfac > random + 0.3, "EK-FAC MRR " + ekfac + " against random " + random);
        int sequences = v.get("sequences").asInt();
        for (JsonNode rank : v.at("/recall/ekfac/ranks")) assertTrue(rank.asInt() >= 1 && rank.asInt() <= sequences);
        for (JsonNode f : v.get("facts")) assertTrue(f.get("source_sequences").asInt() >= 1, f.toString());
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<h1>Fact recall</h1>") && html.contains("fact-007"), "recall report");

        // a fact naming a document the corpus lacks is refused in one line
        Files.writeString(facts, "{\"prompt\": \"The cook of the brig Nolo was named\", \"completion\": \" Kalo\", \"sources\": [\"nowhere.txt\"]}\n");
        CliTest.Run missing = run("validate", "recall", "--model", model.toString(), "--corpus", corpus.toString(), "--cache", cache,
                "--facts", facts.toString(), "--out", out.toString());
        assertEquals(3, missing.code(), missing.err());
        assertTrue(missing.err().contains("nowhere.txt"), missing.err());
    }
}
