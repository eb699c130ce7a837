package dev.imprint.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structural checks on the generated page; {@link HtmlReportBrowserTest} renders it. */
class HtmlReportTest {
    /** A token span: sign class, dark, rgb, opacity, data-score, title, content (newline markers included). */
    private static final Pattern SPAN = Pattern.compile("<span class=\"tok (pos|neg|zero)( dark)?\""
            + "(?: style=\"background:rgba\\(([0-9,]+),([0-9.]+)\\)\")? data-score=\"([^\"]+)\" title=\"([^\"]*)\">"
            + "((?:[^<]|<span class=\"nl\">↵</span>)*)</span>");

    @TempDir Path dir;

    @Test
    void writesReportHtmlBesideResultsAndReturnsItsPath() throws IOException {
        ResultsJson.write(dir, ReportFixtures.results("all"));
        Path report = HtmlReport.write(dir);
        assertEquals(dir.resolve("report.html"), report);
        String html = Files.readString(report);
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertTrue(html.endsWith("</html>\n"));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("report.html", "results.json"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aMissingResultsFileIsAClearError() {
        var e = assertThrows(dev.imprint.InputException.class, () -> HtmlReport.write(dir));
        assertEquals(dir.resolve("results.json") + ": no such file", e.getMessage());
        assertEquals(dev.imprint.InputException.NOT_FOUND, e.exitCode());
        assertFalse(Files.exists(dir.resolve("report.html")));
    }

    @Test
    void isSelfContainedWithoutScripts() {
        String html = HtmlReport.render(ReportFixtures.results("all"));
        for (String external : List.of("http:", "https:", "<script", "<link", " src=", "url(", "@import"))
            assertFalse(html.contains(external), external);
        assertTrue(html.contains("<style>"));
    }

    @Test
    void escapesPromptsCompletionsTextsAndNames() {
        String html = HtmlReport.render(ReportFixtures.results("all"));
        assertTrue(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; prompt:"), "prompt");
        assertTrue(html.contains("<span class=\"completion\" title=\"completion (the measured text)\"> &lt;/span&gt;&lt;b&gt;bold?&lt;/b&gt; &amp; done</span>"), "completion, distinguished");
        assertTrue(html.contains("> &lt;</span>") && html.contains(">&gt;</span>"), "sequence text");
        assertTrue(html.contains("&lt;|</span>"), "the end-of-text token's text");
        assertTrue(html.contains("moby&lt;1&gt;.txt"), "document id");
        assertTrue(html.contains("/models/tiny &lt;gpt2&gt;") && html.contains("/corpus/moby &amp; co"), "run header");
        assertFalse(html.contains("<never") || html.contains("<b>bold") || html.contains("<gpt2>"));
    }

    @Test
    void sequencesDrivenByAFewTokensAreFlagged() {
        Results r = ReportFixtures.results("all");
        Results.TopSequence t = r.queries().getFirst().top().getFirst();
        double l1 = 0, l2 = 0;
        for (Results.TokenScore x : t.tokens()) {
            l1 += Math.abs(x.score());
            l2 += x.score() * x.score();
        }
        assertEquals(Math.sqrt(l2) / l1, t.tokenConcentration(), 1e-12);
        assertTrue(t.tokenConcentration() > 2.0 / 3, "the fixture's terms are dominated by two tokens");
        String html = HtmlReport.render(r);
        assertTrue(html.contains("> 2/3: a few tokens carry the influence (Sec. 5.2)\">a few tokens</span>"), "flagged");
        List<Results.TokenScore> even = new java.util.ArrayList<>();
        for (int k = 0; k < 16; k++) even.add(new Results.TokenScore(k, k + 1, 0.5));
        Results.TopSequence spread = new Results.TopSequence(1, 0, "d", t.documents(), 8, 8.0 / 2000, t.layers(), t.text(), even, null, null);
        assertEquals(0.25, spread.tokenConcentration(), 1e-12, "16 equal terms: 1/√16");
    }

    @Test
    void perCopyNIsTheTrainedSetWhenRecordedAndUnseenSequencesAreMarked() {
        Results r = ReportFixtures.results("all");
        RunInfo run = r.run();
        RunInfo trained = new RunInfo(run.model(), run.modelFingerprint(), run.corpus(), run.storeFingerprint(), run.sequences(), run.strategy(),
                run.damping(), run.layers(), run.rank(), run.candidates(), run.timings(), 1200);
        Results.QueryResults q = r.queries().getFirst();
        List<Results.TopSequence> top = new java.util.ArrayList<>();
        for (Results.TopSequence t : q.top())
            top.add(new Results.TopSequence(t.rank(), t.sequence(), t.document(), t.documents(), t.score(), t.score() / 1200, t.layers(), t.text(),
                    t.tokens(), t.rank() != 2, t.context()));
        Results marked = new Results(r.imprint(), trained, r.scoreUnit(), List.of(new Results.QueryResults(q.id(), q.prompt(), q.completion(),
                q.logProb(), q.promptTokens(), q.completionTokens(), q.distribution(), top)));
        String html = HtmlReport.render(marked);
        assertTrue(html.contains("N = 1200: the sequences the model trained on"), "header");
        assertTrue(html.contains("(÷ N = 1200)"), "per-copy divisor");
        assertEquals(1, html.split("never trained on</span>", -1).length - 1, "only the second sequence is marked");
        assertFalse(HtmlReport.render(r).contains("never trained on</span>"), "nothing is marked when the training set is not recorded");
        assertTrue(HtmlReport.render(r).contains("N = 2000, the whole store"));
        // the carrying document's surrounding text, escaped, the sequence's piece marked
        assertTrue(html.contains("<summary>Surrounding text in moby&lt;1&gt;.txt</summary><p>…Chapter 1. &lt;b&gt;<mark>Call me Ishmael.</mark> Some years ago…</p>"), "context");
    }

    @Test
    void headerSaysWhetherTfIdfFilteringWasUsed() {
        String all = HtmlReport.render(ReportFixtures.results("all"));
        assertTrue(all.contains("data-filtered=\"false\">all 2000 sequences scored; no TF-IDF filtering"));
        assertFalse(all.contains("TF-IDF filtering used"));
        String filtered = HtmlReport.render(ReportFixtures.results("10000"));
        assertTrue(filtered.contains("data-filtered=\"true\">TF-IDF filtering used: only the top 10000 sequences per query"));
        for (String field : List.of("ekfac", "0.1 × mean(Λ) per layer", "N = 2000", "full", "load factors 0.084 s", "score 2.1 s",
                "fb28da53ec5f", "h.1.mlp.c_proj"))
            assertTrue(all.contains(field), field);
        assertTrue(all.contains(ResultsJson.UNIT.replace("'", "&#39;")), "the score unit sentence");
    }

    @Test
    void showsTheMeasurementAndRawAndPerCopyScores() {
        String html = HtmlReport.render(ReportFixtures.results("all"));
        assertTrue(html.contains("log p(completion | prompt) = <b>-0.0819</b> nats"));
        assertTrue(html.contains("influence <b class=\"pos-text\">+8.25</b> raw · <b>+0.004125</b> nats per copy (÷ N = 2000)"));
        assertTrue(html.contains("moby&lt;1&gt;.txt (90.0% of the score) chars [85, 157) · sequence tokens [0, 20); whale.txt (10.0% of the score) chars [0, 9) · sequence tokens [20, 24)"));
    }

    @Test
    void oneSpanPerTokenCoveringTheTextWithSignCorrectColours() {
        Results.TopSequence seq = ReportFixtures.sequence(1, 0, 2.0, new double[4], new Random(ReportFixtures.SEED));
        List<Matcher> spans = spans(Heatmap.html(seq.text(), seq.tokens()));
        assertEquals(seq.tokens().size(), spans.size());
        double maxAbs = seq.tokens().stream().mapToDouble(t -> Math.abs(t.score())).max().orElseThrow();
        StringBuilder text = new StringBuilder();
        for (int t = 0; t < spans.size(); t++) {
            Matcher m = spans.get(t);
            double score = seq.tokens().get(t).score();
            assertEquals(score, Double.parseDouble(m.group(5)), 0, "token " + t);
            assertEquals(score > 0 ? "pos" : "neg", m.group(1), "token " + t);
            assertEquals(score > 0 ? Html.POSITIVE_RGB : Html.NEGATIVE_RGB, m.group(3), "token " + t);
            assertEquals(Math.abs(score) / maxAbs, Double.parseDouble(m.group(4)), 1e-3, "opacity ∝ |score| / max, token " + t);
            assertTrue(m.group(6).startsWith("position " + t + " · " + (score > 0 ? "+" : "") + score + " (raw)"), m.group(6));
            text.append(unescape(m.group(7).replace("<span class=\"nl\">↵</span>", "")));
        }
        assertEquals(seq.text(), text.toString());
        assertEquals("1.000", spans.get(0).group(4), "the largest |term| is fully opaque");
        assertEquals(" dark", spans.get(0).group(2));
    }

    @Test
    void theTermAtPositionTIsShownOnTokenTWithTheTokenItPredicts() {
        String text = "Call me Ishmael";
        List<Results.TokenScore> tokens = List.of(new Results.TokenScore(0, 4, 0.5), new Results.TokenScore(4, 7, -0.25),
                new Results.TokenScore(7, 15, 0));
        List<Matcher> spans = spans(Heatmap.html(text, tokens));
        assertEquals("Call", spans.get(0).group(7));
        assertEquals("position 0 · +0.5 (raw) · from predicting “ me”", spans.get(0).group(6));
        assertEquals("position 1 · -0.25 (raw) · from predicting “ Ishmael”", spans.get(1).group(6));
        assertEquals("zero", spans.get(2).group(1));
        assertEquals("position 2 · 0.0 (raw)", spans.get(2).group(6));
        assertEquals("0.500", spans.get(1).group(4));
        assertTrue(HtmlReport.render(ReportFixtures.results("all")).contains(
                "The term at position t comes from predicting token t+1, so it is shown on token t"), "legend");
    }

    @Test
    void tokensSharingCharactersBecomeOneSpanAndGapsStayPlainText() {
        // "é" as two byte-level tokens sharing one character, then a gap the tokens do not cover, then a newline token
        String text = "caf\u00e9 [gap]\n";
        List<Results.TokenScore> tokens = List.of(new Results.TokenScore(0, 3, 0.1), new Results.TokenScore(3, 4, 0.2),
                new Results.TokenScore(3, 4, -0.05), new Results.TokenScore(10, 11, -0.4));
        String html = Heatmap.html(text, tokens);
        List<Matcher> spans = spans(html);
        assertEquals(3, spans.size());
        assertEquals("\u00e9", spans.get(1).group(7));
        assertEquals(0.15, Double.parseDouble(spans.get(1).group(5)), 1e-12);
        assertEquals("position 1 · +0.2 (raw) · from predicting “\u00e9”\nposition 2 · -0.05 (raw) · from predicting “\\n”",
                unescape(spans.get(1).group(6)));
        assertTrue(html.contains("</span> [gap]<span"), html);
        assertEquals("<span class=\"nl\">↵</span>\n", spans.get(2).group(7));
    }

    @Test
    void layerChartSumsTheTopSequencesPerLayerWithSignedColours() {
        String html = HtmlReport.render(ReportFixtures.results("all"));
        String chart = between(html, "<svg class=\"chart layers\"", "</svg>");
        // Σ over the three top sequences of q1: {0.85+0.9-0.4, 2.2+0.5+0.5, 1.2-1.1+0.1, 4.0+3.2+1.05}
        double[] sums = {0.85 + 0.9 - 0.4, 2.2 + 0.5 + 0.5, 1.2 - 1.1 + 0.1, 4.0 + 3.2 + 1.05};
        for (int l = 0; l < sums.length; l++) {
            String name = ReportFixtures.LAYERS.get(l);
            assertTrue(chart.contains(">" + name + "</text>"), name);
            assertTrue(chart.contains("<title>" + name + ": " + sums[l] + "</title>"), name);
        }
        String second = between(html.substring(html.indexOf("id=\"q2-second-query\"")), "<svg class=\"chart layers\"", "</svg>");
        assertTrue(second.contains("class=\"bar neg\"") && second.contains("fill=\"rgba(" + Html.NEGATIVE_RGB), "negative layer in teal");
        assertTrue(second.contains("class=\"bar pos\"") && second.contains("fill=\"rgba(" + Html.POSITIVE_RGB), "positive layers in red");
        assertEquals(4, count(html, "<svg class=\"chart mini-layers\""), "a small layer strip per top sequence");
    }

    @Test
    void distributionPlotHasThePowerLawLineWithSlopeOneMinusAlpha() {
        Results results = ReportFixtures.results("all");
        ScoreDistribution d = results.queries().getFirst().distribution();
        String svg = CcdfChart.svg(d, "ccdf");
        assertEquals(d.ccdfScore().length, count(svg, "<circle class=\"point\""));
        double[] yAxis = coordinates(svg, "axis", 0), xAxis = coordinates(svg, "axis", 1), fit = coordinates(svg, "power-law", 0);
        double width = xAxis[2] - xAxis[0], height = yAxis[3] - yAxis[1];
        CcdfChart.LogRange x = CcdfChart.LogRange.covering(min(d.ccdfScore()), max(d.ccdfScore()));
        CcdfChart.LogRange y = CcdfChart.LogRange.covering(min(d.ccdfFraction()), 1);
        double decadesX = (fit[2] - fit[0]) / width * (x.hi() - x.lo()), decadesY = -(fit[3] - fit[1]) / height * (y.hi() - y.lo());
        assertEquals(1 - d.powerLaw().alpha(), decadesY / decadesX, 0.02, "slope on log-log axes");
        assertEquals(Math.log10(d.powerLaw().xMin()), x.lo() + (fit[0] - xAxis[0]) / width * (x.hi() - x.lo()), 0.01, "starts at x_min");
        assertTrue(d.powerLaw().alpha() > 2 && d.powerLaw().alpha() < 4, "Pareto(3) fixture: " + d.powerLaw());

        String html = HtmlReport.render(results);
        assertTrue(html.contains("α = " + Html.fixed(d.powerLaw().alpha(), 2)));
        assertTrue(html.contains("tail = " + d.powerLaw().tail() + " sequences, Kolmogorov–Smirnov distance " + Html.fixed(d.powerLaw().ks(), 3)));
        assertTrue(html.contains("The top 1% of the scored sequences carry " + Html.percent(d.top1PercentShare()) + " of their positive influence"));
        assertTrue(html.contains(", bootstrap p = " + Html.fixed(d.powerLaw().pValue(), 2)));
        assertTrue(html.contains("fitted by maximum likelihood on the top " + Html.percent(d.powerLaw().tailFraction()) + " of the scored sequences"));
        assertTrue(html.contains("Not available: this run did not keep every sequence's score."), "second query has no distribution");
        assertEquals(1, count(html, "<svg class=\"chart ccdf\""));
    }

    @Test
    void numbersHaveFourSignificantDigits() {
        assertEquals("8.276", Html.num(8.275505426659947));
        assertEquals("0.2122", Html.num(0.21219244683743455));
        assertEquals("1235", Html.num(1234.56));
        assertEquals("-1.235e-05", Html.num(-1.2345678e-5));
        assertEquals("n/a", Html.num(Double.NaN));
        assertEquals("+3", Html.signed(3));
        assertEquals("20.8%", Html.percent(0.20753793047745972));
        assertEquals("3.00", Html.fixed(2.99964, 2));
    }

    private static List<Matcher> spans(String html) {
        List<Matcher> spans = new ArrayList<>();
        Matcher m = SPAN.matcher(html);
        while (m.find()) {
            Matcher one = SPAN.matcher(html);
            assertTrue(one.find(m.start()));
            spans.add(one);
        }
        return spans;
    }

    /** x1, y1, x2, y2 of the {@code nth} line with class {@code cssClass}. */
    private static double[] coordinates(String svg, String cssClass, int nth) {
        Matcher m = Pattern.compile("<line class=\"" + cssClass + "\" x1=\"([-0-9.]+)\" y1=\"([-0-9.]+)\" x2=\"([-0-9.]+)\" y2=\"([-0-9.]+)\"").matcher(svg);
        for (int i = 0; i <= nth; i++) assertTrue(m.find(), cssClass + " line " + i);
        return new double[]{Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))};
    }

    private static String between(String s, String from, String to) {
        int a = s.indexOf(from);
        assertTrue(a >= 0, from);
        return s.substring(a, s.indexOf(to, a) + to.length());
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }

    private static String unescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElseThrow();
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElseThrow();
    }
}
