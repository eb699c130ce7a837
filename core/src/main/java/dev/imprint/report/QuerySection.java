package dev.imprint.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One query's part of the report: its text and measurement, the layer-wise attribution summed over
 * the top sequences, the distribution of its scores, and the top sequences with their token heatmaps.
 */
final class QuerySection {
    private final RunInfo run;
    private final Results.QueryResults query;
    private final String anchor;
    private final List<String> layerNames;

    /** {@code index} (0-based) keeps the section's anchor unique whatever the query ids are. */
    QuerySection(RunInfo run, Results.QueryResults query, int index) {
        this.run = run;
        this.query = query;
        this.anchor = anchor(query.id(), index);
        this.layerNames = layerNames(run.layers(), query.top().isEmpty() ? run.layers().size() : query.top().getFirst().layers().length);
    }

    /** The id of the query's section, e.g. "q1-call-me" for the first query whose id is "call me". */
    static String anchor(String id, int index) {
        return "q" + (index + 1) + "-" + id.toLowerCase().replaceAll("[^a-z0-9_]+", "-");
    }

    String html() {
        StringBuilder out = new StringBuilder();
        out.append("<section class=\"query\" id=\"").append(anchor).append("\">\n");
        out.append("<h2>Query <code>").append(Html.escape(query.id())).append("</code></h2>\n");
        out.append(text()).append(measurement());
        out.append("<div class=\"charts\">\n").append(layers()).append(distribution()).append("</div>\n");
        out.append(topSequences());
        return out.append("</section>\n").toString();
    }

    private String text() {
        return "<p class=\"qa\"><span class=\"prompt\" title=\"prompt\">" + Html.escape(query.prompt())
                + "</span><span class=\"completion\" title=\"completion (the measured text)\">" + Html.escape(query.completion())
                + "</span></p>\n";
    }

    private String measurement() {
        return "<p class=\"measure\">log p(completion | prompt) = <b>" + Html.num(query.logProb()) + "</b> nats (p = "
                + Html.num(Math.exp(query.logProb())) + ") · " + query.promptTokens() + " prompt tokens, "
                + query.completionTokens() + " completion tokens; only the completion is measured.</p>\n";
    }

    private String layers() {
        int k = query.top().size();
        double[] sum = new double[layerNames.size()];
        for (Results.TopSequence t : query.top())
            for (int l = 0; l < sum.length && l < t.layers().length; l++) sum[l] += t.layers()[l];
        String caption = "Σ over the top " + k + " sequences of each tracked layer's term in the score (Eq. 30), raw. "
                + "Red raises log p(completion), teal lowers it.";
        String chart = k == 0 ? "<p class=\"note\">No sequences to attribute.</p>"
                : LayerChart.summary(layerNames, sum, "layer-wise influence of the top " + k + " sequences for query " + query.id());
        return "<figure class=\"layers-figure\"><h3>Layer-wise attribution</h3>" + chart
                + "<figcaption>" + Html.escape(caption) + "</figcaption></figure>\n";
    }

    private String distribution() {
        ScoreDistribution d = query.distribution();
        StringBuilder out = new StringBuilder("<figure class=\"distribution-figure\"><h3>Distribution of influence</h3>");
        if (d == null) {
            out.append("<p class=\"note\">Not available: this run did not keep every sequence's score.</p>");
        } else {
            if (CcdfChart.plottable(d)) out.append(CcdfChart.svg(d, "CCDF of positive scores for query " + query.id()));
            String pass = "full".equals(run.rank()) ? "" : "These are the scores of the rank-" + run.rank()
                    + " first pass, not rescored (the top sequences below were rescored at full rank). ";
            out.append("<figcaption>").append(Html.escape(pass + distributionCaption(d))).append("</figcaption>");
        }
        return out.append("</figure>\n").toString();
    }

    private static String distributionCaption(ScoreDistribution d) {
        String counts = d.count() + " sequences scored, " + d.positive() + " positive (Σ = " + Html.num(d.positiveSum()) + "). ";
        String share = "The top 1% of the scored sequences carry " + Html.percent(d.top1PercentShare())
                + " of their positive influence (the paper reports 12–52% over all sequences). ";
        ScoreDistribution.PowerLaw p = d.powerLaw();
        if (p == null || Double.isNaN(p.alpha())) return counts + share + "No power-law fit: too few positive scores in the top 1%.";
        String where = p.tailFraction() == null ? "" : " on the top " + Html.percent(p.tailFraction()) + " of the scored sequences (x_min chosen within their top 0.01–1%, or their top 10 when that is more)";
        String test = p.pValue() == null ? "" : ", bootstrap p = " + Html.fixed(p.pValue(), 2) + " (below 0.1: not a power law)";
        return counts + share + "Power-law tail p(x) ∝ x^−α fitted by maximum likelihood" + where + ": α = " + Html.fixed(p.alpha(), 2)
                + " (paper: about 2 to 4.3), x_min = " + Html.num(p.xMin()) + ", tail = " + p.tail()
                + " sequences, Kolmogorov–Smirnov distance " + Html.fixed(p.ks(), 3) + test
                + ". Dots: the empirical CCDF; line: the fit, slope 1 − α = " + Html.fixed(1 - p.alpha(), 2) + " on log-log axes.";
    }

    private String topSequences() {
        StringBuilder out = new StringBuilder("<h3>Top ").append(query.top().size()).append(" training sequences</h3>\n");
        out.append(legend()).append("<ol class=\"hits\">\n");
        for (Results.TopSequence t : query.top()) out.append(hit(t));
        return out.append("</ol>\n").toString();
    }

    private String legend() {
        return "<p class=\"legend\"><span class=\"ramp\" style=\"background:" + Heatmap.rampCss() + "\"></span> "
                + "Each token is coloured by its term in the sequence's score (Eq. 31): red positive, teal negative, "
                + "intensity ∝ |term| / max |term| over that sequence's tokens; hover for the exact raw value. "
                + "The term at position t comes from predicting token t+1, so it is shown on token t, "
                + "the token before the predicted one (as in the paper). The terms sum to the sequence's raw score.</p>\n";
    }

    private String hit(Results.TopSequence t) {
        String id = anchor + "-r" + t.rank();
        return "<li class=\"hit\" id=\"" + id + "\" value=\"" + t.rank() + "\"><div class=\"hit-head\">"
                + "<span class=\"rank\">#" + t.rank() + "</span> "
                + "<span class=\"score\">influence <b class=\"" + (t.score() >= 0 ? "pos-text" : "neg-text") + "\">"
                + Html.signed(t.score()) + "</b> raw · <b>" + Html.signed(t.scorePerCopy()) + "</b> nats per copy (÷ N = "
                + run.perCopyN() + ")</span> "
                + (Boolean.FALSE.equals(t.trained()) ? "<span class=\"unseen\" title=\"not among the sequences the model was trained on\">never trained on</span> " : "")
                + (t.tokenConcentration() > Results.TopSequence.FEW_TOKENS ? "<span class=\"few-tokens\" title=\"‖a‖₂/‖a‖₁ of the token terms = "
                        + Html.fixed(t.tokenConcentration(), 2) + " > 2/3: a few tokens carry the influence (Sec. 5.2)\">a few tokens</span> " : "")
                + LayerChart.mini(layerNames, padded(t.layers()), "layer-wise influence of sequence " + t.sequence())
                + "<span class=\"where\">sequence " + t.sequence() + " · " + Html.escape(where(t)) + "</span>"
                + "</div>\n<div class=\"heat\">" + Heatmap.html(t.text(), t.tokens()) + "</div>" + context(t) + "</li>\n";
    }

    /** "doc9.txt chars [85, 119) · sequence tokens [0, 17)", one entry per document piece (ends exclusive). */
    /** The carrying document's text around the sequence's piece, folded. */
    private static String context(Results.TopSequence t) {
        Results.Context c = t.context();
        if (c == null) return "";
        return "<details class=\"context\"><summary>Surrounding text in " + Html.escape(t.document()) + "</summary><p>"
                + (c.moreBefore() ? "…" : "") + Html.escape(c.before()) + "<mark>" + Html.escape(c.piece()) + "</mark>"
                + Html.escape(c.after()) + (c.moreAfter() ? "…" : "") + "</p></details>";
    }

    /** The document carrying most of the score first, then the others, each with its share when recorded. */
    private static String where(Results.TopSequence t) {
        List<Results.DocumentPiece> pieces = new ArrayList<>(t.documents());
        pieces.sort(java.util.Comparator.comparing((Results.DocumentPiece p) -> p.share() == null ? 0 : -p.share()));
        List<String> parts = new ArrayList<>();
        for (Results.DocumentPiece p : pieces)
            parts.add(p.id() + (p.share() == null ? "" : " (" + Html.percent(p.share()) + " of the score)") + " chars [" + p.charStart() + ", "
                    + p.charEnd() + ") · sequence tokens [" + p.tokenStart() + ", " + p.tokenEnd() + ")");
        return parts.isEmpty() ? t.document() : String.join("; ", parts);
    }

    /** A sequence's layer terms, zero-padded or cut to the number of layer names. */
    private double[] padded(double[] layers) {
        return Arrays.copyOf(layers, layerNames.size());
    }

    /** The run's layer names, or "layer ℓ" when results carry a different number of layers than the run names. */
    private static List<String> layerNames(List<String> names, int count) {
        if (names.size() == count) return names;
        List<String> generic = new ArrayList<>(count);
        for (int l = 0; l < count; l++) generic.add("layer " + l);
        return generic;
    }
}
