package dev.imprint.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResultsJsonTest {
    @TempDir Path dir;

    @Test
    void theContextShowsWholeWordsAroundThePieceAndSaysWhereTheDocumentGoesOn() {
        StringBuilder b = new StringBuilder();
        for (int w = 0; w < 400; w++) b.append("word").append(w).append(' ');
        String doc = b.toString();
        int start = doc.indexOf("word200"), end = doc.indexOf("word205");
        Results.Context c = ResultsJson.context(doc, start, end);
        assertEquals(doc.substring(start, end), c.piece());
        assertTrue(doc.contains(c.before() + c.piece() + c.after()));
        assertTrue(c.before().length() <= ResultsJson.CONTEXT_CHARS && c.after().length() <= ResultsJson.CONTEXT_CHARS);
        assertTrue(c.before().startsWith("word") && c.after().endsWith(" ") == false, "cut at word boundaries: " + c);
        assertTrue(c.moreBefore() && c.moreAfter());
        Results.Context whole = ResultsJson.context("Call me Ishmael.", 5, 7);
        assertEquals("Call ", whole.before());
        assertEquals(" Ishmael.", whole.after());
        assertFalse(whole.moreBefore() || whole.moreAfter());
    }

    @Test
    void theDocumentNamedIsTheOneWhosePieceCarriesMostOfTheScore() {
        List<dev.imprint.data.Piece> pieces = List.of(new dev.imprint.data.Piece(0, 0, 4, 100, 130, true), new dev.imprint.data.Piece(1, 4, 10, 0, 40, false));
        double[] positive = {0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1, 1, 1};
        double[] shares = ResultsJson.shares(pieces, positive, 6.4);
        assertArrayEquals(new double[] {0.4 / 6.4, 6.0 / 6.4}, shares, 1e-12);
        assertEquals(1, ResultsJson.carrying(shares), "the second document carries the score, not the first piece");
        double[] negative = {-1, -1, -1, -1, 0.5, 0, 0, 0, 0, 0};
        double[] s = ResultsJson.shares(pieces, negative, -3.5);
        assertEquals(1.0, s[0] + s[1], 1e-12, "shares sum to 1");
        assertEquals(0, ResultsJson.carrying(s), "a negative score is carried by the piece that pulls it down");
    }

    @Test
    void keysAreSnakeCaseThroughout() throws IOException {
        ResultsJson.write(dir, ReportFixtures.results("all"));
        String json = Files.readString(dir.resolve(ResultsJson.FILE));
        for (String key : List.of("\"model_fingerprint\"", "\"store_fingerprint\"", "\"score_unit\"", "\"log_prob\"",
                "\"prompt_tokens\"", "\"completion_tokens\"", "\"positive_sum\"", "\"top1_percent_share\"", "\"power_law\"",
                "\"x_min\"", "\"ccdf_score\"", "\"ccdf_fraction\"", "\"score_per_copy\"", "\"char_start\"", "\"token_end\""))
            assertTrue(json.contains(key), key);
        for (String camel : List.of("modelFingerprint", "top1PercentShare", "powerLaw", "xMin", "ccdfScore", "scorePerCopy"))
            assertFalse(json.contains(camel), camel);
        assertFalse(json.contains("\"distribution\" : null"), "an absent distribution is left out, not written as null");
    }

    @Test
    void readReturnsWhatWasWritten() {
        Results written = ReportFixtures.results("10000");
        ResultsJson.write(dir, written);
        Results read = ResultsJson.read(dir);
        assertEquals(written.run(), read.run());
        assertEquals(written.scoreUnit(), read.scoreUnit());
        Results.QueryResults w = written.queries().getFirst(), r = read.queries().getFirst();
        assertEquals(w.prompt(), r.prompt());
        assertEquals(w.completion(), r.completion());
        assertEquals(w.distribution().powerLaw(), r.distribution().powerLaw());
        assertArrayEquals(w.distribution().ccdfScore(), r.distribution().ccdfScore());
        assertEquals(w.top().getFirst().tokens(), r.top().getFirst().tokens());
        assertArrayEquals(w.top().getFirst().layers(), r.top().getFirst().layers());
        assertEquals(w.top().getFirst().documents(), r.top().getFirst().documents());
        assertNull(read.queries().get(1).distribution());
    }

    @Test
    void anUnfittedPowerLawSurvivesAsNaN() {
        float[] fewPositive = {1f, -2f, 0.5f, -0.1f};
        Results written = ReportFixtures.results("all");
        Results.QueryResults q = written.queries().getFirst();
        Results.QueryResults unfitted = new Results.QueryResults(q.id(), q.prompt(), q.completion(), q.logProb(),
                q.promptTokens(), q.completionTokens(), ScoreDistribution.of(fewPositive), q.top());
        ResultsJson.write(dir, new Results(written.imprint(), written.run(), written.scoreUnit(), List.of(unfitted)));
        ScoreDistribution.PowerLaw fit = ResultsJson.read(dir).queries().getFirst().distribution().powerLaw();
        assertTrue(Double.isNaN(fit.alpha()) && Double.isNaN(fit.xMin()) && Double.isNaN(fit.ks()), fit.toString());
        assertEquals(0, fit.tail());
    }
}
