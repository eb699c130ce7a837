package dev.imprint.report;

import java.util.Locale;

/**
 * A few SVG elements written inline into the page (no namespace declaration is needed inside HTML,
 * so the report names no URL). Coordinates are user units with the origin at the top left; every
 * text passes through {@link Html#escape}. Elements with a {@code tooltip} get a {@code <title>},
 * which browsers show on hover.
 */
final class Svg {
    private final StringBuilder out = new StringBuilder();

    /** Opens an {@code <svg>} of the given size; {@code label} is its accessible name. */
    Svg(double width, double height, String cssClass, String label) {
        out.append("<svg class=\"").append(cssClass).append("\" width=\"").append(n(width)).append("\" height=\"")
                .append(n(height)).append("\" viewBox=\"0 0 ").append(n(width)).append(' ').append(n(height))
                .append("\" role=\"img\" aria-label=\"").append(Html.escape(label)).append("\">");
    }

    Svg rect(double x, double y, double w, double h, String cssClass, String fill, String tooltip) {
        out.append("<rect class=\"").append(cssClass).append("\" x=\"").append(n(x)).append("\" y=\"").append(n(y))
                .append("\" width=\"").append(n(Math.max(0, w))).append("\" height=\"").append(n(Math.max(0, h)))
                .append("\" fill=\"").append(fill).append('"');
        return closeWithTooltip("rect", tooltip);
    }

    Svg line(double x1, double y1, double x2, double y2, String cssClass) {
        out.append("<line class=\"").append(cssClass).append("\" x1=\"").append(n(x1)).append("\" y1=\"").append(n(y1))
                .append("\" x2=\"").append(n(x2)).append("\" y2=\"").append(n(y2)).append("\"/>");
        return this;
    }

    Svg circle(double cx, double cy, double r, String cssClass, String tooltip) {
        out.append("<circle class=\"").append(cssClass).append("\" cx=\"").append(n(cx)).append("\" cy=\"").append(n(cy))
                .append("\" r=\"").append(n(r)).append('"');
        return closeWithTooltip("circle", tooltip);
    }

    /** Text at (x, y); {@code anchor} is start, middle or end. */
    Svg text(double x, double y, String anchor, String cssClass, String text) {
        return rawText(x, y, anchor, cssClass, Html.escape(text));
    }

    /** A power of ten written as 10 with a raised exponent. */
    Svg powerOfTen(double x, double y, String anchor, String cssClass, int exponent) {
        return rawText(x, y, anchor, cssClass, "10<tspan dy=\"-5\" font-size=\"0.75em\">" + exponent + "</tspan>");
    }

    /** The finished element. */
    String close() {
        return out.append("</svg>").toString();
    }

    private Svg rawText(double x, double y, String anchor, String cssClass, String markup) {
        out.append("<text class=\"").append(cssClass).append("\" x=\"").append(n(x)).append("\" y=\"").append(n(y))
                .append("\" text-anchor=\"").append(anchor).append("\">").append(markup).append("</text>");
        return this;
    }

    private Svg closeWithTooltip(String element, String tooltip) {
        if (tooltip == null) out.append("/>");
        else out.append("><title>").append(Html.escape(tooltip)).append("</title></").append(element).append('>');
        return this;
    }

    /** A coordinate with at most two decimals. */
    private static String n(double v) {
        String s = String.format(Locale.ROOT, "%.2f", v);
        s = s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
        return s.equals("-0") ? "0" : s;
    }
}
