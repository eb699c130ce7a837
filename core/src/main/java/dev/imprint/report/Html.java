package dev.imprint.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/** Escaping, number formatting and the two influence colours shared by the report's parts. */
final class Html {
    /** Positive influence (raises log p(completion)): red. */
    static final String POSITIVE_RGB = "214,39,40";
    /** Negative influence: teal. */
    static final String NEGATIVE_RGB = "0,150,136";

    private Html() {}

    /**
     * Escapes text for element content and for quoted attribute values alike. Control characters
     * other than tab and line breaks, which HTML does not allow, become their visible symbols (␀,
     * ␛, …); an unpaired surrogate becomes U+FFFD.
     */
    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                case '\t', '\n', '\r' -> out.append(c);
                default -> {
                    if (c < 0x20) out.append((char) (0x2400 + c));           // a control character as its visible symbol (␀, ␛, …)
                    else if (c == 0x7F) out.append('\u2421');                 // ␡
                    else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
                        out.append(c).append(s.charAt(++i));
                    else if (Character.isSurrogate(c)) out.append('\uFFFD'); // unpaired: not text
                    else out.append(c);
                }
            }
        }
        return out.toString();
    }

    /** Four significant digits: plain notation for 0.001 ≤ |v| < 100000, scientific otherwise; "n/a" for NaN. */
    static String num(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (Double.isInfinite(v)) return v > 0 ? "∞" : "-∞";
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e-3 && a < 1e5)
            return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
        return String.format(Locale.ROOT, "%.3e", v);
    }

    /** Fixed decimals, for quantities of known scale such as a power-law exponent ("3.00"). */
    static String fixed(double v, int decimals) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** {@link #num} with an explicit sign, for influence scores. */
    static String signed(double v) {
        return v > 0 ? "+" + num(v) : num(v);
    }

    /** A fraction as a percentage with one decimal ("20.8%"). */
    static String percent(double fraction) {
        return Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }

    /** The fill colour of a score: red (positive) or teal (negative) with opacity {@code alpha} in [0, 1]. */
    static String fill(double score, double alpha) {
        return String.format(Locale.ROOT, "rgba(%s,%.3f)", score >= 0 ? POSITIVE_RGB : NEGATIVE_RGB, alpha);
    }
}
