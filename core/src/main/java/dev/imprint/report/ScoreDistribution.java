package dev.imprint.report;

import java.util.Arrays;

/**
 * How one query's influence is spread over the training sequences (method §6: heavy tails, the share
 * of the top 1%, a power-law fit of the tail).
 *
 * @param count           sequences scored (entries that are NaN, i.e. not scored, are left out)
 * @param positive        sequences with a positive score
 * @param positiveSum     Σ of the positive scores
 * @param top1PercentShare share of the positive influence carried by the top 1% of sequences (by score)
 * @param powerLaw        the tail fit (see {@link PowerLaw}); alpha is NaN when there are too few positive scores
 * @param ccdfScore       positive scores at log-spaced ranks (descending), for a log-log plot
 * @param ccdfFraction    fraction of positive sequences scoring at least {@code ccdfScore[i]}
 */
public record ScoreDistribution(int count, int positive, double positiveSum, double top1PercentShare, PowerLaw powerLaw,
                                double[] ccdfScore, double[] ccdfFraction) {

    /**
     * A power law p(x) ∝ x^−α for x ≥ xMin, fitted by maximum likelihood (α̂ = 1 + n / Σ ln(x_i/x_min))
     * with x_min chosen, among the largest 20% of positive scores, to minimize the Kolmogorov–Smirnov
     * distance between the tail and the fit (Clauset, Shalizi & Newman 2009).
     *
     * @param alpha the exponent
     * @param xMin  where the tail starts
     * @param tail  number of scores in the tail
     * @param ks    the Kolmogorov–Smirnov distance of the fit
     */
    public record PowerLaw(double alpha, double xMin, int tail, double ks) {}

    private static final int MIN_TAIL = 10, PLOT_POINTS = 120;

    public static ScoreDistribution of(float[] scores) {
        double[] pos = new double[scores.length];
        int n = 0;
        double sum = 0;
        for (float s : scores)
            if (s > 0) {
                pos[n++] = s;
                sum += s;
            }
        pos = Arrays.copyOf(pos, n);
        Arrays.sort(pos); // ascending
        double[] all = new double[scores.length];
        int scored = 0;
        for (float f : scores) if (!Float.isNaN(f)) all[scored++] = f;
        all = Arrays.copyOf(all, scored);
        Arrays.sort(all);
        int top = Math.max(1, (int) Math.ceil(all.length * 0.01));
        double topPositive = 0;
        for (int i = all.length - top; i < all.length; i++) topPositive += Math.max(0, all[i]);
        double share = sum > 0 ? topPositive / sum : Double.NaN;

        int points = Math.min(PLOT_POINTS, n);
        double[] x = new double[points], y = new double[points];
        for (int i = 0; i < points; i++) {
            // ranks 1..n, log-spaced
            int rank = (int) Math.round(Math.exp(Math.log(n) * i / Math.max(1, points - 1)));
            rank = Math.max(1, Math.min(n, rank));
            x[i] = pos[n - rank];
            y[i] = (double) rank / n;
        }
        return new ScoreDistribution(scored, n, sum, share, fit(pos), x, y);
    }

    /** Clauset-style fit over ascending positive values. */
    static PowerLaw fit(double[] asc) {
        int n = asc.length;
        if (n < MIN_TAIL) return new PowerLaw(Double.NaN, Double.NaN, 0, Double.NaN);
        PowerLaw best = null;
        int firstCandidate = Math.min(n - MIN_TAIL, (int) Math.floor(n * 0.8));
        for (int start = firstCandidate; start <= n - MIN_TAIL; start++) {
            double xMin = asc[start];
            int tail = n - start;
            double logSum = 0;
            for (int i = start; i < n; i++) logSum += Math.log(asc[i] / xMin);
            if (logSum <= 0) continue;
            double alpha = 1 + tail / logSum;
            double ks = 0;
            for (int i = start; i < n; i++) {
                double empirical = (double) (i - start + 1) / tail;
                double model = 1 - Math.pow(asc[i] / xMin, 1 - alpha);
                ks = Math.max(ks, Math.abs(empirical - model));
            }
            if (best == null || ks < best.ks()) best = new PowerLaw(alpha, xMin, tail, ks);
        }
        return best == null ? new PowerLaw(Double.NaN, Double.NaN, 0, Double.NaN) : best;
    }
}
