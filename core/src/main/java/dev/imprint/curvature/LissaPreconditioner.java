package dev.imprint.curvature;

import dev.imprint.model.LanguageModel;
import dev.imprint.tensor.Mat;

import java.util.SplittableRandom;

/**
 * LiSSA (method §7.4), for validation: the stochastic recursion r_j = αv + r_{j−1} − α(G̃_j + λI) r_{j−1},
 * r_0 = αv, whose fixed point is (G + λI)⁻¹ v, with G̃_j = (1/B) Σ_{z ∈ B_j} g_z g_zᵀ a minibatch
 * Gauss-Newton-vector product over the fitting sample's per-sequence gradients (sampled labels),
 * minibatch j drawn with replacement by a generator seeded by (seed, j), the same for every layer and
 * query (a minibatch of N or more is the whole sample, which makes the recursion deterministic).
 * λ follows {@link Damping} on G's diagonal, as for the exact solve; the step α is 1/scale, by
 * default 1/(1.05 (max_z ‖g_z‖² + λ)), which keeps every step a contraction whatever the minibatch.
 * After {@code depth} steps the directions of curvature well above 1/(α · depth) are inverted and
 * the others are scaled by about α · depth: a truncated Neumann series, as LiSSA is in practice.
 *
 * @param rows      P
 * @param cols      A
 * @param gradients J, (N, P·A) row-major
 * @param n         N
 * @param lambda    λ
 * @param alpha     α
 * @param depth     recursion steps
 * @param batch     B
 * @param seed      the minibatches
 */
public record LissaPreconditioner(int rows, int cols, double[] gradients, int n, double lambda, double alpha, int depth, int batch, long seed)
        implements Preconditioner {

    /**
     * How LiSSA runs.
     *
     * @param depth recursion steps
     * @param batch sequences per minibatch
     * @param scale 1/α; 0 for the default from λ_max
     * @param seed  the minibatches
     */
    public record Settings(int depth, int batch, double scale, long seed) {
        public Settings {
            if (depth < 1) throw new dev.imprint.InputException("--lissa-depth must be at least 1, not " + depth);
            if (batch < 1) throw new dev.imprint.InputException("--lissa-batch must be at least 1, not " + batch);
            if (!(scale >= 0) || !Double.isFinite(scale)) throw new dev.imprint.InputException("--lissa-scale must be 0 (automatic) or positive, not " + scale);
        }
    }

    /** LiSSA for one layer's gradients {@code j} (N, rows·cols). */
    public static LissaPreconditioner of(int rows, int cols, double[] j, int n, Damping damping, Settings s, String layer) {
        int d = rows * cols;
        double lambda = SampleGradients.lambda(j, n, d, damping, layer);
        double alpha = s.scale() > 0 ? 1 / s.scale() : 1 / (1.05 * (largestSquaredNorm(j, n, d) + lambda));
        return new LissaPreconditioner(rows, cols, j, n, lambda, alpha, s.depth(), Math.min(s.batch(), n), s.seed());
    }

    /**
     * The largest ‖g_z‖²: a bound on the largest eigenvalue of every minibatch product G̃_j, whose
     * trace (1/B) Σ_{z ∈ B_j} ‖g_z‖² it bounds. With α below 1/(that + λ), I − α(G̃_j + λI) has
     * its eigenvalues in [0, 1) for every minibatch, so the recursion cannot diverge.
     */
    static double largestSquaredNorm(double[] j, int n, int d) {
        double max = 0;
        for (int z = 0; z < n; z++) {
            double sq = 0;
            for (int i = 0; i < d; i++) sq += j[z * d + i] * j[z * d + i];
            max = Math.max(max, sq);
        }
        return max;
    }

    /** (1/|rows|) Σ_{z ∈ rows} g_z (g_zᵀ v). */
    private static double[] gnvp(double[] j, int d, int[] rows, double[] v) {
        double[] out = new double[d];
        for (int z : rows) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += j[z * d + i] * v[i];
            dot /= rows.length;
            for (int i = 0; i < d; i++) out[i] += j[z * d + i] * dot;
        }
        return out;
    }

    @Override
    public double[] precondition(double[] v) {
        Preconditioner.checkShape(this, v);
        int d = v.length;
        double[] r = new double[d];
        for (int i = 0; i < d; i++) r[i] = alpha * v[i];
        int[] rowsOfBatch = new int[batch];
        if (batch == n) for (int b = 0; b < n; b++) rowsOfBatch[b] = b; // a minibatch as large as the sample is the sample: G̃ = G
        for (int step = 1; step <= depth; step++) {
            SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
            if (batch < n) for (int b = 0; b < batch; b++) rowsOfBatch[b] = rng.nextInt(n); // with replacement
            double[] gr = gnvp(gradients, d, rowsOfBatch, r);
            for (int i = 0; i < d; i++) r[i] += alpha * (v[i] - gr[i] - lambda * r[i]);
        }
        return r;
    }

    @Override
    public Mat precondition(Mat v) {
        return SampleGradients.throughDoubles(this, v);
    }

    @Override
    public double quadraticForm(Mat v) {
        return SampleGradients.quadraticForm(this, v);
    }

    /** LiSSA for every tracked layer, from one pass over the fitting sample. */
    public static Preconditioners fit(LanguageModel model, TapPass pass, int n, Damping damping, Settings s) {
        return SampleGradients.preconditioners(model, pass, n, (l, j) -> of(l.outFeatures(), l.activationDim(), j, n, damping, s, l.name()));
    }
}
