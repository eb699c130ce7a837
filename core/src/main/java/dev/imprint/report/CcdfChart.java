package dev.imprint.report;

/**
 * The complementary CDF of a query's positive scores on log-log axes, with the fitted power law
 * (method §6). For x ≥ x_min the tail's own CCDF is (x / x_min)^(1−α); among all positive sequences
 * the tail is the fraction tail / positive, so the fitted line is
 * F(x) = (tail / positive) · (x / x_min)^(1−α): straight, with slope 1 − α.
 */
final class CcdfChart {
    private static final double WIDTH = 560, HEIGHT = 340, LEFT = 64, RIGHT = 16, TOP = 28, BOTTOM = 46;

    private CcdfChart() {}

    /** Decades [lo, hi] of log10 values covering {@code min..max}, at least one decade wide. */
    record LogRange(int lo, int hi) {
        static LogRange covering(double min, double max) {
            int lo = (int) Math.floor(Math.log10(min)), hi = (int) Math.ceil(Math.log10(max));
            return new LogRange(lo, Math.max(hi, lo + 1));
        }

        /** Where {@code v} falls, 0 at 10^lo and 1 at 10^hi. */
        double at(double v) {
            return (Math.log10(v) - lo) / (hi - lo);
        }
    }

    /** True when {@code d} has points to plot. */
    static boolean plottable(ScoreDistribution d) {
        return d != null && d.ccdfScore() != null && d.ccdfScore().length >= 2 && max(d.ccdfScore()) > 0;
    }

    static String svg(ScoreDistribution d, String label) {
        double[] xs = d.ccdfScore(), ys = d.ccdfFraction();
        LogRange x = LogRange.covering(min(xs), max(xs)), y = LogRange.covering(min(ys), 1);
        Svg svg = new Svg(WIDTH, HEIGHT, "chart ccdf", label);
        axes(svg, x, y);
        for (int i = 0; i < xs.length; i++)
            if (xs[i] > 0 && ys[i] > 0) svg.circle(px(x, xs[i]), py(y, ys[i]), 2.6, "point",
                    "score " + Html.num(xs[i]) + ": " + Html.percent(ys[i]) + " of positive sequences score at least this");
        ScoreDistribution.PowerLaw fit = d.powerLaw();
        if (fit != null && Double.isFinite(fit.alpha()) && fit.tail() > 0 && d.positive() > 0) {
            double x0 = fit.xMin(), x1 = max(xs), f0 = (double) fit.tail() / d.positive();
            double f1 = f0 * Math.pow(x1 / x0, 1 - fit.alpha());
            svg.line(px(x, x0), py(y, f0), px(x, x1), py(y, f1), "power-law");
            svg.text(px(x, x0) + 6, py(y, f0) - 6, "start", "fit-label", "power law, α = " + Html.fixed(fit.alpha(), 2));
        }
        return svg.close();
    }

    private static void axes(Svg svg, LogRange x, LogRange y) {
        double bottom = HEIGHT - BOTTOM, right = WIDTH - RIGHT;
        svg.line(LEFT, TOP, LEFT, bottom, "axis").line(LEFT, bottom, right, bottom, "axis");
        for (int k = x.lo(); k <= x.hi(); k++) {
            double px = px(x, Math.pow(10, k));
            svg.line(px, TOP, px, bottom, "grid").powerOfTen(px, bottom + 18, "middle", "axis-label", k);
        }
        for (int k = y.lo(); k <= y.hi(); k++) {
            double py = py(y, Math.pow(10, k));
            svg.line(LEFT, py, right, py, "grid").powerOfTen(LEFT - 8, py + 4, "end", "axis-label", k);
        }
        svg.text((LEFT + right) / 2, HEIGHT - 8, "middle", "axis-title", "influence x (raw, positive scores)");
        svg.text(8, 14, "start", "axis-title", "fraction of positive sequences with score ≥ x");
    }

    private static double px(LogRange x, double v) {
        return LEFT + x.at(v) * (WIDTH - LEFT - RIGHT);
    }

    private static double py(LogRange y, double v) {
        return HEIGHT - BOTTOM - y.at(v) * (HEIGHT - BOTTOM - TOP);
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : v) if (x > 0) m = Math.min(m, x);
        return m;
    }

    private static double max(double[] v) {
        double m = 0;
        for (double x : v) m = Math.max(m, x);
        return m;
    }
}
