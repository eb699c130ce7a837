package dev.imprint.report;

import dev.imprint.curvature.Preconditioner;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.influence.InfluenceAnalysis;
import dev.imprint.influence.Query;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.Transformer;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.Tokenizer;
import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real scores from a tiny random GPT-2 through ResultsJson.write, read back and rendered. */
class ReportEndToEndTest {
    private static final long SEED = 41L;
    private static final List<String> DOCUMENTS = List.of(
            "Call me Ishmael. Some years ago, never mind how long precisely.",
            "The whale <swam> past the ship & the captain said \"hello\".\nA new line.",
            "It was the best of times, it was the worst of times.");

    @TempDir Path dir;

    @Test
    void writtenResultsReadBackAndRender() throws IOException {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        for (int i = 0; i < DOCUMENTS.size(); i++) Files.writeString(corpus.resolve("doc" + i + ".txt"), DOCUMENTS.get(i));
        Tokenizer tok = new CharTokenizer();
        LanguageModel model = new Transformer(Parameters.initialize(ModelConfig.gpt2(2, 16, 2, tok.vocabSize(), 32), SEED), LayerSelection.MLP);
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir.resolve("store"), tok, "chars", 32, Progress.NONE)) {
            Query q = new Query("q1", "Call me", " Ishmael", tok.encode("Call me"), tok.encode(" Ishmael"));
            List<InfluenceAnalysis.QueryResult> results = InfluenceAnalysis.score(model, store, identity(model), List.of(q),
                    new InfluenceAnalysis.ScoreSettings(3, 4, true, 0, 0), Progress.NONE);
            List<String> layers = model.trackedLayers().stream().map(TrackedLayer::name).toList();
            RunInfo run = new RunInfo("tiny", "abc", corpus.toString(), store.fingerprint(), store.size(), "identity",
                    "none", layers, "full", "all", Map.of("score_s", 0.5), 0);
            Path out = dir.resolve("out");
            ResultsJson.write(out, run, results, store, null);

            Results read = ResultsJson.read(out);
            assertEquals(run, read.run());
            Results.QueryResults r = read.queries().getFirst();
            assertEquals(3, r.top().size());
            assertEquals(store.size(), r.distribution().count());
            for (Results.TopSequence t : r.top()) {
                InfluenceAnalysis.Hit hit = results.getFirst().top().get(t.rank() - 1);
                assertEquals(hit.score(), t.score());
                assertEquals(hit.tokens().length, t.tokens().size());
                assertEquals(layers.size(), t.layers().length);
                assertEquals(store.annotatedText(hit.sequence()).text(), t.text());
                // the context is the carrying document's own text around its piece
                Results.DocumentPiece piece = t.documents().stream().filter(d -> d.id().equals(t.document())).findFirst().orElseThrow();
                String doc = DOCUMENTS.get(Integer.parseInt(t.document().replaceAll("\\D", "")));
                assertEquals(doc.substring(piece.charStart(), piece.charEnd()), t.context().piece());
                assertTrue(doc.contains(t.context().before() + t.context().piece() + t.context().after()), t.context().toString());
                assertTrue(t.context().before().length() <= ResultsJson.CONTEXT_CHARS && t.context().after().length() <= ResultsJson.CONTEXT_CHARS);
                assertEquals(doc.startsWith(t.context().before() + t.context().piece()), !t.context().moreBefore(), "short documents are shown whole");
                assertEquals(doc.endsWith(t.context().piece() + t.context().after()), !t.context().moreAfter());
            }
            String html = Files.readString(HtmlReport.write(out));
            int tokens = r.top().stream().mapToInt(t -> t.tokens().size()).sum();
            int spans = html.split("<span class=\"tok ", -1).length - 1;
            assertEquals(tokens, spans, "one span per token (each character its own token)");
            assertFalse(html.contains("<swam>") || html.contains("<|endoftext|>"), "sequence texts are escaped");
        }
    }

    private static Preconditioners identity(LanguageModel model) {
        List<Preconditioner> ps = new ArrayList<>();
        for (TrackedLayer l : model.trackedLayers()) ps.add(new Preconditioner.Identity(l.outFeatures(), l.activationDim()));
        return new Preconditioners(model.trackedLayers(), ps);
    }

    /** One token per character (ASCII test documents only); end-of-text is id 128. */
    private static final class CharTokenizer implements Tokenizer {
        @Override
        public int[] encode(String text) {
            return encodeWithOffsets(text).ids();
        }

        @Override
        public Encoding encodeWithOffsets(String text) {
            int n = text.length();
            int[] ids = new int[n], start = new int[n], end = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = text.charAt(i) & 0x7f;
                start[i] = i;
                end[i] = i + 1;
            }
            return new Encoding(ids, start, end);
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder out = new StringBuilder();
            for (int id : ids) out.append(id == endOfText() ? "<|endoftext|>" : String.valueOf((char) id));
            return out.toString();
        }

        @Override
        public int vocabSize() {
            return 129;
        }

        @Override
        public int endOfText() {
            return 128;
        }

        @Override
        public java.util.OptionalInt beginOfText() {
            return java.util.OptionalInt.empty();
        }
    }
}
