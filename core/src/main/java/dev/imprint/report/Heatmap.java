package dev.imprint.report;

import java.util.List;
import java.util.Locale;

/**
 * A sequence's text with each token highlighted by its term in the sequence's score (Eq. 31).
 * The term at position t comes from predicting token t+1 and is shown on token t (the token
 * before the predicted one, as the paper does). Red is positive, teal negative; opacity is
 * |term| / max |term| over this sequence's tokens.
 *
 * <p>Byte-level tokens that share characters (several tokens of one character) share a span in
 * the text; they become one {@code <span>} showing the sum of their terms, its tooltip listing each.
 */
final class Heatmap {
    /** Above this opacity the token's text turns white to stay readable. */
    private static final double DARK = 0.6;

    private Heatmap() {}

    /** The {@code <span>}s of {@code tokens} over {@code text}, with the untokenized gaps as plain text. */
    static String html(String text, List<Results.TokenScore> tokens) {
        double maxAbs = 0;
        for (Results.TokenScore t : tokens) maxAbs = Math.max(maxAbs, Math.abs(t.score()));
        StringBuilder out = new StringBuilder(text.length() * 8);
        int cursor = 0;
        for (int first = 0; first < tokens.size(); ) {
            int last = first;
            while (last + 1 < tokens.size() && sameSpan(tokens.get(first), tokens.get(last + 1))) last++;
            Results.TokenScore t = tokens.get(first);
            int start = Math.clamp(t.start(), cursor, text.length()), end = Math.clamp(t.end(), start, text.length());
            out.append(Html.escape(text.substring(cursor, start)));
            span(out, text, tokens, first, last, text.substring(start, end), maxAbs);
            cursor = end;
            first = last + 1;
        }
        return out.append(Html.escape(text.substring(cursor))).toString();
    }

    /** One span for tokens first..last (inclusive), which share the characters {@code chars}. */
    private static void span(StringBuilder out, String text, List<Results.TokenScore> tokens, int first, int last,
                             String chars, double maxAbs) {
        double score = 0;
        for (int t = first; t <= last; t++) score += tokens.get(t).score();
        double alpha = maxAbs > 0 ? Math.abs(score) / maxAbs : 0;
        String sign = score > 0 ? "pos" : score < 0 ? "neg" : "zero";
        out.append("<span class=\"tok ").append(sign).append(alpha > DARK ? " dark" : "").append('"');
        if (score != 0) out.append(" style=\"background:").append(Html.fill(score, Math.min(1, alpha))).append('"');
        out.append(" data-score=\"").append(score).append("\" title=\"")
                .append(Html.escape(tooltip(text, tokens, first, last))).append("\">")
                .append(Html.escape(chars).replace("\n", "<span class=\"nl\">↵</span>\n")).append("</span>");
    }

    /** "position 4 · +0.0123 (raw) · from predicting “ the”", exact values, one line per token. */
    private static String tooltip(String text, List<Results.TokenScore> tokens, int first, int last) {
        StringBuilder tip = new StringBuilder();
        for (int t = first; t <= last; t++) {
            if (t > first) tip.append('\n');
            double s = tokens.get(t).score();
            tip.append("position ").append(t).append(" · ").append(s > 0 ? "+" : "").append(s).append(" (raw)");
            if (t + 1 < tokens.size()) {
                Results.TokenScore next = tokens.get(t + 1);
                int start = Math.clamp(next.start(), 0, text.length()), end = Math.clamp(next.end(), start, text.length());
                tip.append(" · from predicting “").append(visible(text.substring(start, end))).append('”');
            }
        }
        return tip.toString();
    }

    /** Newlines and tabs written as escapes, so a tooltip shows which whitespace was predicted. */
    private static String visible(String s) {
        return s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
    }

    private static boolean sameSpan(Results.TokenScore a, Results.TokenScore b) {
        return a.start() == b.start() && a.end() == b.end();
    }

    /** The legend's colour ramp, teal (−max) through white (0) to red (+max). */
    static String rampCss() {
        return String.format(Locale.ROOT, "linear-gradient(to right, rgb(%s), #fff, rgb(%s))", Html.NEGATIVE_RGB, Html.POSITIVE_RGB);
    }
}
