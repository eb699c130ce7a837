package dev.imprint.report;

import java.util.Arrays;

/**
 * How one query's influence is spread over the training sequences (method §6: heavy tails, the share
 * of the top 1%, a power-law fit of the tail).
 *
 * @param count           sequences scored (entries that are NaN, i.e. not scored, are left out)
 * @param positive        sequences with a positive score
 * @param positiveSum     Σ of the positive scores
 * @param top1PercentShare share of the positive influence carried by the top 1% of the scored sequences (by score)
 * @param powerLaw        the tail fit (see {@link PowerLaw}); alpha is NaN when there are too few positive scores
 * @param ccdfScore       positive scores at log-spaced ranks (descending), for a log-log plot
 * @param ccdfFraction    fraction of positive sequences scoring at least {@code ccdfScore[i]}
 */
public record ScoreDistribution(int count, int positive, double positiveSum, double top1PercentShare, PowerLaw powerLaw,
                                double[] ccdfScore, double[] ccdfFraction) {

    /**
     * A power law p(x) ∝ x^−α for x ≥ xMin, fitted by maximum likelihood (α̂ = 1 + n / Σ ln(x_i/x_min))
     * on the top of the distribution, as the paper does: x_min is chosen, among tails holding the top
     * 0.01% to 1% of the scored sequences (at least 10), to minimize the Kolmogorov–Smirnov distance
     * between the tail and the fit (Clauset, Shalizi & Newman 2009). The p-value is the share of 200
     * seeded draws of the same size from the fitted law whose own fit's distance is at least the
     * observed one, x_min held fixed (optimistic, since x_min was chosen to minimize the distance).
     *
     * @param alpha        the exponent
     * @param xMin         where the tail starts
     * @param tail         number of scores in the tail
     * @param ks           the Kolmogorov–Smirnov distance of the fit
     * @param pValue       the bootstrap p-value of that distance (small: the tail is not a power law); null in
     *                     results written before Imprint computed it
     * @param tailFraction the tail's share of the scored sequences; null in such older results
     */
    public record PowerLaw(double alpha, double xMin, int tail, double ks, Double pValue, Double tailFraction) {
        static final PowerLaw NONE = new PowerLaw(Double.NaN, Double.NaN, 0, Double.NaN, Double.NaN, Double.NaN);
    }

    private static final int MIN_TAIL = 10, PLOT_POINTS = 120, BOOTSTRAP = 200;

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
        return new ScoreDistribution(scored, n, sum, share, fit(pos, scored), x, y);
    }

    /** Clauset-style fit over ascending positive values, the tail within the top 0.01%–1% of {@code scored} sequences. */
    static PowerLaw fit(double[] asc, int scored) {
        int n = asc.length;
        int shortest = Math.max(MIN_TAIL, (int) Math.ceil(scored * 1e-4)), longest = Math.min(n, Math.max(MIN_TAIL, (int) Math.ceil(scored * 0.01)));
        if (n < MIN_TAIL || longest < shortest) return PowerLaw.NONE;
        double bestAlpha = Double.NaN, bestKs = Double.POSITIVE_INFINITY;
        int bestStart = -1;
        for (int start = n - longest; start <= n - shortest; start++) {
            double[] f = alphaAndKs(asc, start, n, asc[start]);
            if (!Double.isNaN(f[0]) && f[1] < bestKs) {
                bestAlpha = f[0];
                bestKs = f[1];
                bestStart = start;
            }
        }
        if (bestStart < 0) return PowerLaw.NONE;
        int tail = n - bestStart;
        double xMin = asc[bestStart];
        // parametric bootstrap of the distance at this x_min
        java.util.SplittableRandom rng = new java.util.SplittableRandom(0x5EEDL + tail);
        int atLeast = 0;
        double[] draw = new double[tail];
        for (int b = 0; b < BOOTSTRAP; b++) {
            for (int i = 0; i < tail; i++) draw[i] = xMin * Math.pow(1 - rng.nextDouble(), -1 / (bestAlpha - 1));
            Arrays.sort(draw);
            if (alphaAndKs(draw, 0, tail, xMin)[1] >= bestKs) atLeast++;
        }
        return new PowerLaw(bestAlpha, xMin, tail, bestKs, (double) atLeast / BOOTSTRAP, (double) tail / scored);
    }

    /** The ML exponent of asc[start, end) (all at least xMin) above xMin and the KS distance of that fit; α NaN when undefined. */
    private static double[] alphaAndKs(double[] asc, int start, int end, double xMin) {
        int tail = end - start;
        double logSum = 0;
        for (int i = start; i < end; i++) logSum += Math.log(asc[i] / xMin);
        if (!(logSum > 0)) return new double[] {Double.NaN, Double.NaN};
        double alpha = 1 + tail / logSum, ks = 0;
        for (int i = start; i < end; i++) {
            double empirical = (double) (i - start + 1) / tail, model = 1 - Math.pow(asc[i] / xMin, 1 - alpha);
            ks = Math.max(ks, Math.abs(empirical - model));
        }
        return new double[] {alpha, ks};
    }
}
