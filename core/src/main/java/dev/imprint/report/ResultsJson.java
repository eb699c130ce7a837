package dev.imprint.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.data.Piece;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.SequenceText;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.SafeTensors;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code results.json} (for people's programs and for the report) and {@code scores.safetensors}
 * (every sequence's raw score per query, tensor {@code scores} of shape (Q, N)).
 */
public final class ResultsJson {
    public static final String FILE = "results.json", SCORES = "scores.safetensors";
    /** The unit of a raw score, as written in results and reports. */
    public static final String UNIT = "raw: d log p(completion) / d ε for upweighting the sequence's loss by ε (nats); "
            + "per copy: raw ÷ N, the nats gained by adding one more copy of the sequence to the N training sequences";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ResultsJson() {}

    /** Writes results.json (and scores.safetensors when all scores were kept) into {@code dir}. */
    public static void write(Path dir, RunInfo run, List<InfluenceAnalysis.QueryResult> results, SequenceStore store) {
        ObjectNode root = JSON.createObjectNode();
        root.put("imprint", "0.1.0");
        root.set("run", JSON.valueToTree(run));
        root.put("score_unit", UNIT);
        ArrayNode queries = root.putArray("queries");
        for (InfluenceAnalysis.QueryResult r : results) {
            ObjectNode q = queries.addObject();
            q.put("id", r.query().id()).put("prompt", r.query().prompt()).put("completion", r.query().completion())
                    .put("log_prob", r.logProb()).put("prompt_tokens", r.query().promptTokens().length)
                    .put("completion_tokens", r.query().completionTokens().length);
            if (r.scores() != null) q.set("distribution", JSON.valueToTree(ScoreDistribution.of(r.scores())));
            ArrayNode top = q.putArray("top");
            int rank = 1;
            for (InfluenceAnalysis.Hit h : r.top()) {
                ObjectNode t = top.addObject();
                t.put("rank", rank++).put("sequence", h.sequence());
                List<Piece> pieces = store.provenance(h.sequence()).pieces();
                t.put("document", store.document(pieces.getFirst().document()).id());
                ArrayNode docs = t.putArray("documents");
                for (Piece p : pieces)
                    docs.addObject().put("id", store.document(p.document()).id()).put("char_start", p.charStart()).put("char_end", p.charEnd())
                            .put("token_start", p.tokenStart()).put("token_end", p.tokenEnd());
                t.put("score", h.score()).put("score_per_copy", h.scorePerCopy());
                ArrayNode layers = t.putArray("layers");
                for (double v : h.layers()) layers.add(v);
                SequenceText text = store.annotatedText(h.sequence());
                t.put("text", text.text());
                ArrayNode tokens = t.putArray("tokens");
                for (int i = 0; i < h.tokens().length; i++)
                    tokens.addObject().put("start", text.tokenStart()[i]).put("end", text.tokenEnd()[i]).put("score", h.tokens()[i]);
            }
        }
        AtomicFiles.write(dir.resolve(FILE), tmp -> JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root));
        if (!results.isEmpty() && results.getFirst().scores() != null) {
            int Q = results.size(), N = results.getFirst().scores().length;
            float[] all = new float[Q * N];
            for (int q = 0; q < Q; q++) System.arraycopy(results.get(q).scores(), 0, all, q * N, N);
            Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>();
            t.put("scores", SafeTensors.Tensor.f32(all, Q, N));
            SafeTensors.write(dir.resolve(SCORES), t, Map.of("queries", String.join("\n", results.stream().map(r -> r.query().id()).toList())));
        }
    }
}
