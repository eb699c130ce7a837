package dev.imprint.report;

import java.util.List;

/**
 * Layer-wise attribution (Eq. 30) as diverging bars: positive to the right (red), negative to the
 * left (teal) of a zero line. {@link #summary} is the per-query chart with layer names;
 * {@link #mini} is a small per-sequence strip, one vertical bar per layer.
 */
final class LayerChart {
    private static final double WIDTH = 560, ROW = 16, TOP = 8, BOTTOM = 8, VALUE_LABEL = 64, CHAR_WIDTH = 7;
    private static final double MINI_BAR = 5, MINI_GAP = 1, MINI_HEIGHT = 28;

    private LayerChart() {}

    /** Horizontal bars, one row per layer, labelled with {@code names[ℓ]} and the value. */
    static String summary(List<String> names, double[] values, String label) {
        int longest = names.stream().mapToInt(String::length).max().orElse(1);
        double left = Math.min(220, 12 + CHAR_WIDTH * longest), plot = WIDTH - left - VALUE_LABEL;
        double height = TOP + ROW * values.length + BOTTOM;
        double lo = Math.min(0, min(values)), hi = Math.max(0, max(values)), span = hi - lo;
        double scale = span > 0 ? plot / span : 0, zero = left + (-lo) * scale;
        Svg svg = new Svg(WIDTH, height, "chart layers", label);
        for (int l = 0; l < values.length; l++) {
            double v = values[l], y = TOP + ROW * l;
            svg.text(left - 6, y + ROW * 0.72, "end", "axis-label", names.get(l));
            svg.rect(v >= 0 ? zero : zero + v * scale, y + 2, Math.abs(v) * scale, ROW - 4, v >= 0 ? "bar pos" : "bar neg",
                    Html.fill(v, 0.85), names.get(l) + ": " + v);
            double labelX = v >= 0 ? zero + v * scale + 4 : zero + 4;
            svg.text(labelX, y + ROW * 0.72, "start", "value-label", Html.signed(v));
        }
        svg.line(zero, TOP, zero, height - BOTTOM, "zero");
        return svg.close();
    }

    /** A small strip of vertical bars around a middle line, scaled by this sequence's largest |value|. */
    static String mini(List<String> names, double[] values, String label) {
        double width = values.length * (MINI_BAR + MINI_GAP) + MINI_GAP, mid = MINI_HEIGHT / 2;
        double maxAbs = Math.max(Math.abs(min(values)), Math.abs(max(values)));
        double scale = maxAbs > 0 ? (mid - 1) / maxAbs : 0;
        Svg svg = new Svg(width, MINI_HEIGHT, "chart mini-layers", label);
        for (int l = 0; l < values.length; l++) {
            double v = values[l], h = Math.abs(v) * scale, x = MINI_GAP + l * (MINI_BAR + MINI_GAP);
            svg.rect(x, v >= 0 ? mid - h : mid, MINI_BAR, h, v >= 0 ? "bar pos" : "bar neg", Html.fill(v, 0.85),
                    names.get(l) + ": " + v);
        }
        svg.line(0, mid, width, mid, "zero");
        return svg.close();
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : v) m = Math.min(m, x);
        return v.length == 0 ? 0 : m;
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : v) m = Math.max(m, x);
        return v.length == 0 ? 0 : m;
    }
}
