package dev.imprint.report;

import dev.imprint.io.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code report.html}: one self-contained page (inline CSS and SVG, no script, no external address)
 * that shows a {@code results.json} to a person: the run, and per query the layer-wise attribution,
 * the distribution of influence with its power-law tail, and the top training sequences as token
 * heatmaps (method §4, §6).
 */
public final class HtmlReport {
    public static final String FILE = "report.html";

    private HtmlReport() {}

    /** Reads {@code resultsDir}/results.json and writes {@code resultsDir}/report.html; returns the report's path. */
    public static Path write(Path resultsDir) {
        Results results = ResultsJson.read(resultsDir);
        Path report = resultsDir.resolve(FILE);
        AtomicFiles.writeString(report, render(results));
        return report;
    }

    /** The whole page. */
    static String render(Results results) {
        StringBuilder out = new StringBuilder(1 << 16);
        out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>Imprint influence report · ").append(Html.escape(results.run().model())).append("</title>\n")
                .append("<style>\n").append(ReportStyle.CSS).append("</style>\n</head>\n<body>\n");
        out.append(header(results)).append("<main>\n");
        for (int i = 0; i < results.queries().size(); i++)
            out.append(new QuerySection(results.run(), results.queries().get(i), i).html());
        out.append("</main>\n<footer>Written by Imprint ").append(Html.escape(results.imprint()))
                .append(" from results.json.</footer>\n</body>\n</html>\n");
        return out.toString();
    }

    private static String header(Results results) {
        RunInfo run = results.run();
        StringBuilder out = new StringBuilder("<header>\n<h1>Imprint influence report</h1>\n<dl class=\"run\">\n");
        row(out, "Model", Html.escape(run.model()) + fingerprint(run.modelFingerprint()));
        row(out, "Corpus", Html.escape(run.corpus()) + fingerprint(run.storeFingerprint()));
        row(out, "Training sequences", run.trainedOn() > 0
                ? "N = " + run.trainedOn() + ": the sequences the model trained on, from its training.json (the store holds " + run.sequences()
                        + "; a top sequence it never saw is marked)"
                : "N = " + run.sequences() + ", the whole store (the model's training set is not recorded)");
        row(out, "Strategy", Html.escape(strategy(run.strategy())));
        row(out, "Damping", Html.escape(run.damping()));
        row(out, "Tracked layers", run.layers().size() + ": " + Html.escape(String.join(", ", run.layers())));
        row(out, "Query rank", Html.escape(rank(run.rank())));
        row(out, "Candidates", candidates(run));
        row(out, "Timings", Html.escape(timings(run.timings())));
        out.append("</dl>\n<p class=\"unit\"><b>Score unit.</b> ").append(Html.escape(results.scoreUnit()))
                .append(". Positive influence means adding the sequence raises log p(completion | prompt).</p>\n");
        return out.append(contents(results.queries())).append("</header>\n").toString();
    }

    private static void row(StringBuilder out, String name, String valueHtml) {
        out.append("<dt>").append(name).append("</dt><dd>").append(valueHtml).append("</dd>\n");
    }

    private static String fingerprint(String sha) {
        if (sha == null || sha.isEmpty()) return "";
        String shortSha = sha.substring(0, Math.min(12, sha.length()));
        return " <span class=\"fingerprint\" title=\"SHA-256 " + Html.escape(sha) + "\">" + Html.escape(shortSha) + "</span>";
    }

    private static String strategy(String name) {
        return switch (name.toLowerCase()) {
            case "ekfac" -> "ekfac (EK-FAC: eigenbasis of K-FAC with corrected eigenvalues, Eq. 21)";
            case "kfac" -> "kfac (K-FAC: Kronecker-factored curvature; its eigenvalues are per token, so raw scores are about T̄ times EK-FAC's)";
            case "kfac-sequence" -> "kfac-sequence (K-FAC with per-sequence eigenvalues, T̄ λ_S λ_A: on EK-FAC's scale)";
            case "diagonal" -> "diagonal (diagonal Fisher)";
            case "identity" -> "identity (plain gradient dot product, no curvature)";
            default -> name;
        };
    }

    private static String rank(String rank) {
        return "full".equals(rank) ? "full (exact preconditioned query gradients)"
                : rank + " (truncated SVD of each preconditioned query gradient, method §5)";
    }

    /** States plainly whether TF-IDF filtering or a gradient index chose the candidates (method §5: the report must say so). */
    private static String candidates(RunInfo run) {
        if (run.candidates() != null && run.candidates().startsWith("index: ")) {
            String text = run.candidates().substring("index: ".length());
            int semi = text.indexOf("; ");
            String chosen = semi < 0 ? text : text.substring(0, semi), depth = semi < 0 ? "" : text.substring(semi + 2);
            return "<span class=\"filtering warn\" data-filtered=\"index\">Gradient index used: only " + Html.escape(chosen)
                    + " were scored exactly (method §5.3), so a sequence the index ranks low is missing even if its exact score is high"
                    + (depth.isEmpty() ? "" : "; " + Html.escape(depth)) + "</span>";
        }
        if ("all".equals(run.candidates()))
            return "<span class=\"filtering\" data-filtered=\"false\">all " + run.sequences()
                    + " sequences scored; no TF-IDF filtering</span>";
        return "<span class=\"filtering warn\" data-filtered=\"true\">TF-IDF filtering used: only the top "
                + Html.escape(run.candidates()) + " sequences per query by BM25 (Eq. 28–29) were scored, "
                + "so results lean towards lexical overlap with the query</span>";
    }

    private static String timings(Map<String, Double> timings) {
        if (timings == null || timings.isEmpty()) return "not recorded";
        List<String> parts = new ArrayList<>();
        timings.forEach((stage, seconds) -> parts.add(stage.replaceAll("_s$", "").replace('_', ' ') + " " + Html.num(seconds) + " s"));
        return String.join(" · ", parts);
    }

    private static String contents(List<Results.QueryResults> queries) {
        StringBuilder out = new StringBuilder("<nav><h2>Queries</h2><ol>\n");
        for (int i = 0; i < queries.size(); i++) {
            Results.QueryResults q = queries.get(i);
            out.append("<li><a href=\"#").append(QuerySection.anchor(q.id(), i)).append("\"><code>").append(Html.escape(q.id()))
                    .append("</code></a> ").append(Html.escape(q.prompt())).append("<span class=\"completion\">")
                    .append(Html.escape(q.completion())).append("</span></li>\n");
        }
        return out.append("</ol></nav>\n").toString();
    }
}
