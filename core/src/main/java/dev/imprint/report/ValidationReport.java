package dev.imprint.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.io.AtomicFiles;
import dev.imprint.validation.ExactComparison;
import dev.imprint.validation.FactRecall;
import dev.imprint.validation.LinearDatamodeling;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * What {@code imprint validate} writes: {@value #JSON_FILE} (each table keyed by attribution, for
 * scripts) and {@value #HTML_FILE} (the table, and a scatter plot per attribution: predicted against
 * actual for LDS, against the exact scores for the exact comparison).
 */
public final class ValidationReport {
    public static final String JSON_FILE = "validation.json", HTML_FILE = "report.html";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double WIDTH = 340, HEIGHT = 300, LEFT = 46, RIGHT = 12, TOP = 26, BOTTOM = 40, RANGE = 3;

    private ValidationReport() {}

    /** Writes both files of an LDS run into {@code dir}; {@code run} lists what the run was given (model, store, damping, …). */
    public static void writeLds(Path dir, LinearDatamodeling.Result r, Map<String, String> run) {
        writeJson(dir, json(r, run));
        AtomicFiles.writeString(dir.resolve(HTML_FILE), html(r, run));
    }

    /** Writes both files of an exact comparison into {@code dir}. */
    public static void writeExact(Path dir, ExactComparison.Result r, Map<String, String> run) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode exact = root.putObject("exact");
        for (ExactComparison.Agreement a : r.agreements()) {
            ObjectNode o = exact.putObject(a.attribution());
            o.put("pearson", a.pearson()).put("spearman", a.spearman()).put("lowest_pearson", a.lowest());
            ArrayNode per = o.putArray("per_query_pearson");
            for (double v : a.perQuery()) per.add(v);
            o.put("score_seconds", a.seconds());
        }
        root.put("fitting_sequences", r.fitting()).put("sequences", r.sequences()).put("exact_seconds", r.exactSeconds())
                .put("exact_bytes", r.exactBytes());
        run.forEach(root.putObject("run")::put);
        ArrayNode queries = root.putArray("queries");
        for (var q : r.queries()) queries.addObject().put("id", q.id()).put("prompt", q.prompt()).put("completion", q.completion());
        writeJson(dir, root);
        StringBuilder h = new StringBuilder();
        h.append(head("against the exact GNH", "Against the exact damped Gauss-Newton Hessian"));
        h.append("<p class=\"note\">Every attribution's scores of all ").append(r.sequences()).append(" sequences against ")
                .append(r.queries().size()).append(r.queries().size() == 1 ? " query" : " queries").append(", compared with influence through the exact damped ")
                .append("block-diagonal GNH of the same ").append(r.fitting()).append(" fitting sequences and sampled labels, solved by Woodbury (method §7.2; ")
                .append(r.exactBytes() >> 20).append(" MiB of gradients held).</p>\n<dl class=\"run\">");
        runList(h, run);
        h.append("</dl>\n<h2>Agreement with the exact solve</h2>\n<table class=\"lds\"><thead><tr><th>attribution</th><th>Pearson (mean)</th>"
                + "<th>lowest query</th><th>Spearman (mean)</th><th>scoring time</th></tr></thead><tbody>\n");
        for (ExactComparison.Agreement a : r.agreements())
            h.append("<tr><td>").append(Html.escape(a.attribution())).append("</td><td>").append(Html.fixed(a.pearson(), 4)).append("</td><td>")
                    .append(Html.fixed(a.lowest(), 4)).append("</td><td>").append(Html.fixed(a.spearman(), 4)).append("</td><td>")
                    .append(a.seconds() == 0 ? "on disk" : Html.fixed(a.seconds(), 1) + " s").append("</td></tr>\n");
        h.append("</tbody></table>\n<p class=\"note\">Exact scores: ").append(r.exactSeconds() == 0 ? "on disk" : Html.fixed(r.exactSeconds(), 1) + " s")
                .append(".</p>\n<h2>Scores against the exact scores</h2>\n<p class=\"note\">One point per sequence (at most " + MAX_POINTS + " per query, every k-th), for the first ")
                .append(Math.min(4, r.queries().size())).append(" queries, both standardized within the query.</p>\n<div class=\"charts\">");
        int shown = Math.min(4, r.queries().size());
        double[][] reference = pointsOf(r.exact(), shown);
        for (ExactComparison.Agreement a : r.agreements())
            h.append("<figure>").append(scatter(pointsOf(r.scores().get(a.attribution()), shown), reference, a.attribution(),
                            a.attribution() + " score (z)", "exact score (z)"))
                    .append("<figcaption>").append(Html.escape(a.attribution())).append(": Pearson ").append(Html.fixed(a.pearson(), 4)).append("</figcaption></figure>");
        AtomicFiles.writeString(dir.resolve(HTML_FILE), h.append("</div>\n</body></html>\n").toString());
    }

    /** Writes both files of a fact-recall run into {@code dir}. */
    public static void writeRecall(Path dir, FactRecall.Result r, Map<String, String> run) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode recall = root.putObject("recall");
        for (FactRecall.Recall a : r.recalls()) {
            ObjectNode o = recall.putObject(a.attribution());
            o.put("recall_at_1", a.recallAt1()).put("recall_at_10", a.recallAt10()).put("mrr", a.mrr());
            ArrayNode ranks = o.putArray("ranks");
            for (int k : a.ranks()) ranks.add(k);
            o.put("score_seconds", a.seconds());
        }
        root.put("sequences", r.sequences());
        ArrayNode facts = root.putArray("facts");
        for (int f = 0; f < r.facts().size(); f++) {
            var fact = r.facts().get(f);
            ObjectNode o = facts.addObject().put("id", fact.id()).put("prompt", fact.prompt()).put("completion", fact.completion());
            fact.sources().forEach(o.putArray("sources")::add);
            o.put("source_sequences", r.sourceSequences()[f]);
        }
        run.forEach(root.putObject("run")::put);
        writeJson(dir, root);
        StringBuilder h = new StringBuilder();
        h.append(head("fact recall", "Fact recall")).append("<p class=\"note\">").append(r.facts().size())
                .append(" planted facts, each queried; a fact's rank is that of its best-scoring source sequence among all ").append(r.sequences())
                .append(" sequences (method §7.3).</p>\n<dl class=\"run\">");
        runList(h, run);
        h.append("</dl>\n<h2>Recall by attribution</h2>\n<table class=\"lds\"><thead><tr><th>attribution</th><th>Recall@1</th><th>Recall@10</th>"
                + "<th>MRR</th><th>scoring time</th></tr></thead><tbody>\n");
        for (FactRecall.Recall a : r.recalls())
            h.append("<tr><td>").append(Html.escape(a.attribution())).append("</td><td>").append(Html.fixed(a.recallAt1(), 3)).append("</td><td>")
                    .append(Html.fixed(a.recallAt10(), 3)).append("</td><td>").append(Html.fixed(a.mrr(), 3)).append("</td><td>")
                    .append(a.seconds() == 0 ? "on disk" : Html.fixed(a.seconds(), 1) + " s").append("</td></tr>\n");
        h.append("</tbody></table>\n<h2>Rank of each fact's source</h2>\n<table class=\"lds\"><thead><tr><th>fact</th><th class=\"text\">query</th>");
        for (FactRecall.Recall a : r.recalls()) h.append("<th>").append(Html.escape(a.attribution())).append("</th>");
        h.append("</tr></thead><tbody>\n");
        for (int f = 0; f < r.facts().size(); f++) {
            var fact = r.facts().get(f);
            h.append("<tr><td>").append(Html.escape(fact.id())).append("</td><td class=\"text\">").append(Html.escape(fact.prompt())).append(" <b>")
                    .append(Html.escape(fact.completion())).append("</b></td>");
            for (FactRecall.Recall a : r.recalls()) h.append("<td>").append(a.ranks()[f]).append("</td>");
            h.append("</tr>\n");
        }
        AtomicFiles.writeString(dir.resolve(HTML_FILE), h.append("</tbody></table>\n</body></html>\n").toString());
    }

    private static void writeJson(Path dir, ObjectNode root) {
        try {
            AtomicFiles.writeString(dir.resolve(JSON_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The page up to its heading. */
    private static String head(String title, String heading) {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Imprint validation: " + Html.escape(title) + "</title><style>"
                + ReportStyle.CSS + "</style></head><body>\n<h1>" + Html.escape(heading) + "</h1>\n";
    }

    /** What the run was given, as the header's list (the caller opened the list). */
    private static void runList(StringBuilder h, Map<String, String> run) {
        run.forEach((k, v) -> h.append("<dt>").append(Html.escape(k)).append("</dt><dd>").append(Html.escape(v)).append("</dd>"));
    }

    /** At most this many sequences are drawn per query in a scatter plot (every k-th, in store order). */
    private static final int MAX_POINTS = 1000;

    /** points[i][q] = scores[q][i·k] for the first {@code queries} queries, every k-th sequence so that at most {@value #MAX_POINTS} are drawn. */
    private static double[][] pointsOf(float[][] scores, int queries) {
        int step = Math.max(1, (scores[0].length + MAX_POINTS - 1) / MAX_POINTS);
        double[][] out = new double[(scores[0].length + step - 1) / step][queries];
        for (int q = 0; q < queries; q++)
            for (int i = 0; i < out.length; i++) out[i][q] = scores[q][i * step];
        return out;
    }

    static ObjectNode json(LinearDatamodeling.Result r, Map<String, String> run) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode lds = root.putObject("lds");
        for (LinearDatamodeling.Estimate e : r.estimates()) {
            ObjectNode o = lds.putObject(e.attribution());
            o.put("mean", e.mean());
            o.putArray("ci").add(e.low()).add(e.high());
            ArrayNode per = o.putArray("per_query");
            for (double v : e.perQuery()) per.add(v);
            o.put("score_seconds", e.seconds());
        }
        root.put("subsets", r.settings().subsets()).put("seeds", r.settings().seeds()).put("fraction", r.settings().fraction())
                .put("seed", r.settings().seed()).put("bootstrap_samples", r.settings().bootstrapSamples())
                .put("training_sequences", r.trainingSequences()).put("subset_size", r.subsetSize())
                .put("retrain_seconds", r.retrainSeconds()).put("retrained_now", r.retrainedNow());
        run.forEach(root.putObject("run")::put);
        ArrayNode queries = root.putArray("queries");
        for (int q = 0; q < r.queries().size(); q++)
            queries.addObject().put("id", r.queries().get(q).id()).put("prompt", r.queries().get(q).prompt())
                    .put("completion", r.queries().get(q).completion()).put("log_prob", r.logProbs()[q]);
        root.set("actual", matrix(r.actual()));
        ObjectNode predicted = root.putObject("predicted");
        r.predicted().forEach((name, m) -> predicted.set(name, matrix(m)));
        return root;
    }

    private static ArrayNode matrix(double[][] m) {
        ArrayNode rows = JSON.createArrayNode();
        for (double[] row : m) {
            ArrayNode a = rows.addArray();
            for (double v : row) a.add(v);
        }
        return rows;
    }

    static String html(LinearDatamodeling.Result r, Map<String, String> run) {
        StringBuilder h = new StringBuilder();
        h.append(head("linear datamodeling score", "Linear datamodeling score"));
        h.append("<p class=\"note\">").append(r.settings().subsets()).append(" subsets of ").append(Html.percent(r.settings().fraction()))
                .append(" of the ").append(r.trainingSequences()).append(" training sequences (").append(r.subsetSize())
                .append(" each), the model retrained from scratch on each with its own recipe")
                .append(r.settings().seeds() == 1 ? "" : ", " + r.settings().seeds() + " seeds averaged").append("; ")
                .append(r.queries().size()).append(r.queries().size() == 1 ? " query" : " queries")
                .append(". LDS: the Spearman correlation, over subsets, between the sum of a subset's scores and log p(completion) after retraining on it, averaged over queries (method §7.1).</p>\n");
        h.append("<dl class=\"run\">");
        runList(h, run);
        h.append("</dl>\n<h2>LDS by attribution</h2>\n<table class=\"lds\"><thead><tr><th>attribution</th><th>LDS</th><th>95% interval</th>"
                + "<th>per query: min</th><th>median</th><th>max</th><th>scoring time</th></tr></thead><tbody>\n");
        for (LinearDatamodeling.Estimate e : r.estimates()) {
            double[] s = e.perQuery().clone();
            Arrays.sort(s);
            h.append("<tr><td>").append(Html.escape(e.attribution())).append("</td><td>").append(Html.fixed(e.mean(), 3)).append("</td><td>[")
                    .append(Html.fixed(e.low(), 3)).append(", ").append(Html.fixed(e.high(), 3)).append("]</td><td>").append(Html.fixed(s[0], 3))
                    .append("</td><td>").append(Html.fixed(median(s), 3)).append("</td><td>").append(Html.fixed(s[s.length - 1], 3))
                    .append("</td><td>").append(e.seconds() == 0 ? "on disk" : Html.fixed(e.seconds(), 1) + " s").append("</td></tr>\n");
        }
        h.append("</tbody></table>\n<p class=\"note\">Retraining: ").append(Html.fixed(r.retrainSeconds(), 1)).append(" s in this run (")
                .append(r.retrainedNow()).append(" models trained, the others read from the stages folder).</p>\n");
        h.append("<h2>Predicted against actual</h2>\n<p class=\"note\">One point per subset and query, both standardized within the query "
                + "(z-scores over subsets), so that queries of different scales share the axes; points beyond ±3 are drawn at the edge.</p>\n<div class=\"charts\">");
        for (LinearDatamodeling.Estimate e : r.estimates())
            h.append("<figure>").append(scatter(r.predicted().get(e.attribution()), r.actual(), e.attribution(),
                            "predicted: Σ of the subset's scores (z)", "actual: log p after retraining (z)"))
                    .append("<figcaption>").append(Html.escape(e.attribution())).append(": LDS ").append(Html.fixed(e.mean(), 3)).append("</figcaption></figure>");
        h.append("</div>\n</body></html>\n");
        return h.toString();
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Standardized x[j][q] against standardized y[j][q], each query standardized over j. */
    static String scatter(double[][] predicted, double[][] actual, String name, String xTitle, String yTitle) {
        Svg svg = new Svg(WIDTH, HEIGHT, "chart lds-scatter", xTitle + " against " + yTitle + " for " + name);
        double bottom = HEIGHT - BOTTOM, right = WIDTH - RIGHT;
        svg.line(LEFT, TOP, LEFT, bottom, "axis").line(LEFT, bottom, right, bottom, "axis");
        for (int k = -3; k <= 3; k++) {
            svg.line(x(k), TOP, x(k), bottom, "grid").text(x(k), bottom + 16, "middle", "axis-label", Integer.toString(k));
            svg.line(LEFT, y(k), right, y(k), "grid").text(LEFT - 6, y(k) + 4, "end", "axis-label", Integer.toString(k));
        }
        int M = actual.length, Q = actual[0].length;
        for (int q = 0; q < Q; q++) {
            double[] p = standardized(predicted, q), a = standardized(actual, q);
            for (int j = 0; j < M; j++) svg.circle(x(p[j]), y(a[j]), 2.2, "point", null);
        }
        svg.text((LEFT + right) / 2, HEIGHT - 6, "middle", "axis-title", xTitle);
        svg.text(6, 14, "start", "axis-title", yTitle);
        return svg.close();
    }

    private static double[] standardized(double[][] m, int q) {
        int M = m.length;
        double mean = 0, sq = 0;
        for (double[] row : m) mean += row[q] / M;
        for (double[] row : m) sq += (row[q] - mean) * (row[q] - mean);
        double sd = Math.sqrt(sq / M);
        double[] out = new double[M];
        for (int j = 0; j < M; j++) out[j] = sd > 0 ? (m[j][q] - mean) / sd : 0;
        return out;
    }

    private static double x(double z) {
        return LEFT + (Math.max(-RANGE, Math.min(RANGE, z)) + RANGE) / (2 * RANGE) * (WIDTH - LEFT - RIGHT);
    }

    private static double y(double z) {
        return HEIGHT - BOTTOM - (Math.max(-RANGE, Math.min(RANGE, z)) + RANGE) / (2 * RANGE) * (HEIGHT - BOTTOM - TOP);
    }
}
