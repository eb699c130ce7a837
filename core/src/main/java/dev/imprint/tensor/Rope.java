package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * Rotary position embedding in the rotate-half convention of GPT-NeoX and Hugging Face's Llama,
 * on the first R dimensions of a head (dimensions [R, D) pass through): pair i &lt; R/2 is
 * (x_i, x_{i+R/2}), rotated by θ = t·invFreq_i at position t:
 * (x_i, x_{i+R/2}) → (x_i cos θ − x_{i+R/2} sin θ, x_{i+R/2} cos θ + x_i sin θ).
 * Dimensions: N rows, T tokens per sequence (row r is position r mod T), R rotary dimensions.
 *
 * <p>The tables cos θ and sin θ (positions, R/2) are computed once in double (invFreq and t·invFreq
 * too) and rounded to float, so they are more accurate than Hugging Face's, which forms t·invFreq
 * in float32 (an error of up to ½ulp(t·invFreq) ≈ 2.4e-4 rad at t ≈ 4096 for the fastest pair).
 * Every element is rotated on its own, so the work split never changes a result.
 */
public final class Rope {
    /** Frequency scaling of the rotary base: none, or Llama 3's (rope_scaling type "llama3"). */
    public sealed interface Scaling {
        record None() implements Scaling {}

        /**
         * Hugging Face's {@code _compute_llama3_parameters}: with wavelen = 2π/invFreq, wavelengths
         * above original/lowFreqFactor are divided by factor in frequency, those below
         * original/highFreqFactor are kept, and in between invFreq' = (1 − s)·invFreq/factor +
         * s·invFreq with s = (original/wavelen − lowFreqFactor)/(highFreqFactor − lowFreqFactor).
         */
        record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) implements Scaling {
            public Llama3 {
                if (!(factor >= 1) || Double.isInfinite(factor)) throw new IllegalArgumentException("llama3 factor must be at least 1, got " + factor);
                if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || Double.isInfinite(highFreqFactor))
                    throw new IllegalArgumentException("llama3 needs 0 < low_freq_factor < high_freq_factor, got " + lowFreqFactor + " and " + highFreqFactor);
                if (originalMaxPositions <= 0)
                    throw new IllegalArgumentException("llama3 original_max_position_embeddings must be positive, got " + originalMaxPositions);
            }
        }

        static Scaling none() {
            return new None();
        }

        static Scaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
            return new Llama3(factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
        }

        /** The scaled inverse frequency. */
        default double apply(double invFreq) {
            if (!(this instanceof Llama3 s)) return invFreq;
            double lowWavelen = s.originalMaxPositions / s.lowFreqFactor, highWavelen = s.originalMaxPositions / s.highFreqFactor;
            double wavelen = 2 * Math.PI / invFreq;
            if (wavelen > lowWavelen) return invFreq / s.factor;
            if (wavelen < highWavelen) return invFreq;
            double smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
            return (1 - smooth) * invFreq / s.factor + smooth * invFreq;
        }
    }

    /** Rows per parallel task: a row is only R/2 pairs. */
    static final int ROWS_PER_TASK = 256;

    private final int rotaryDims, positions;
    private final float[] cos, sin; // (positions, R/2)

    private Rope(int rotaryDims, int positions, float[] cos, float[] sin) {
        this.rotaryDims = rotaryDims;
        this.positions = positions;
        this.cos = cos;
        this.sin = sin;
    }

    /** Tables for positions [0, positions): invFreq_i = scaling(θ^(−2i/R)). */
    public static Rope of(int rotaryDims, int positions, double theta, Scaling scaling) {
        if (positions <= 0) throw new IllegalArgumentException("positions must be positive, got " + positions);
        double[] inv = inverseFrequencies(rotaryDims, theta, scaling);
        int half = rotaryDims / 2;
        float[] cos = new float[Math.multiplyExact(positions, half)], sin = new float[positions * half];
        for (int t = 0; t < positions; t++) {
            for (int i = 0; i < half; i++) {
                double a = t * inv[i];
                cos[t * half + i] = (float) Math.cos(a);
                sin[t * half + i] = (float) Math.sin(a);
            }
        }
        return new Rope(rotaryDims, positions, cos, sin);
    }

    /** invFreq (R/2): scaling(θ^(−2i/R)), in double. */
    public static double[] inverseFrequencies(int rotaryDims, double theta, Scaling scaling) {
        if (rotaryDims <= 0 || rotaryDims % 2 != 0) throw new IllegalArgumentException("rotary dimensions must be positive and even, got " + rotaryDims);
        if (!(theta > 0) || Double.isInfinite(theta)) throw new IllegalArgumentException("rope theta must be positive, got " + theta);
        if (scaling == null) throw new IllegalArgumentException("rope scaling is required (Scaling.none() for none)");
        double[] inv = new double[rotaryDims / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = scaling.apply(Math.pow(theta, -2.0 * i / rotaryDims));
        return inv;
    }

    public int rotaryDims() {
        return rotaryDims;
    }

    public int positions() {
        return positions;
    }

    /** cos θ at position t for pair i (for tests and references). */
    public float cos(int t, int i) {
        return cos[t * (rotaryDims / 2) + i];
    }

    /** sin θ at position t for pair i. */
    public float sin(int t, int i) {
        return sin[t * (rotaryDims / 2) + i];
    }

    /**
     * Rotates, in place, the R dims from column {@code colOffset} of each of N rows of x (row r
     * starts at r·rowStride; it is at position r mod T).
     */
    public void forward(float[] x, int rows, int T, int rowStride, int colOffset) {
        check(x, rows, T, rowStride, colOffset);
        int half = rotaryDims / 2;
        Parallel.forEach((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK), bound = S.loopBound(half);
            for (int r = from; r < to; r++) {
                int o = r * rowStride + colOffset, c = (r % T) * half, i = 0;
                for (; i < bound; i += L) {
                    FloatVector a = FloatVector.fromArray(S, x, o + i), b = FloatVector.fromArray(S, x, o + half + i);
                    FloatVector co = FloatVector.fromArray(S, cos, c + i), si = FloatVector.fromArray(S, sin, c + i);
                    a.fma(co, b.mul(si).neg()).intoArray(x, o + i);
                    b.fma(co, a.mul(si)).intoArray(x, o + half + i);
                }
                for (; i < half; i++) {
                    float a = x[o + i], b = x[o + half + i], co = cos[c + i], si = sin[c + i];
                    x[o + i] = Math.fma(a, co, -(b * si));
                    x[o + half + i] = Math.fma(b, co, a * si);
                }
            }
        });
    }

    /**
     * In forward y = R_θ x per pair, a rotation; so dx = R_θᵀ dy = R_{−θ} dy, in place on dx (the
     * same layout as forward's x).
     */
    public void backward(float[] dx, int rows, int T, int rowStride, int colOffset) {
        check(dx, rows, T, rowStride, colOffset);
        int half = rotaryDims / 2;
        Parallel.forEach((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK), bound = S.loopBound(half);
            for (int r = from; r < to; r++) {
                int o = r * rowStride + colOffset, c = (r % T) * half, i = 0;
                for (; i < bound; i += L) {
                    FloatVector a = FloatVector.fromArray(S, dx, o + i), b = FloatVector.fromArray(S, dx, o + half + i);
                    FloatVector co = FloatVector.fromArray(S, cos, c + i), si = FloatVector.fromArray(S, sin, c + i);
                    a.fma(co, b.mul(si)).intoArray(dx, o + i);
                    b.fma(co, a.mul(si).neg()).intoArray(dx, o + half + i);
                }
                for (; i < half; i++) {
                    float a = dx[o + i], b = dx[o + half + i], co = cos[c + i], si = sin[c + i];
                    dx[o + i] = Math.fma(a, co, b * si);
                    dx[o + half + i] = Math.fma(b, co, -(a * si));
                }
            }
        });
    }

    private void check(float[] x, int rows, int T, int rowStride, int colOffset) {
        if (T <= 0 || T > positions) throw new IllegalArgumentException("T = " + T + " positions, tables for " + positions);
        if (rows < 0) throw new IllegalArgumentException("rows must not be negative, got " + rows);
        if (colOffset < 0 || colOffset + rotaryDims > rowStride)
            throw new IllegalArgumentException("rotary columns [" + colOffset + ", " + (colOffset + rotaryDims) + ") outside a row of " + rowStride);
        if (rows > 0 && (long) (rows - 1) * rowStride + colOffset + rotaryDims > x.length)
            throw new IllegalArgumentException(rows + " rows of stride " + rowStride + " do not fit in " + x.length + " floats");
    }
}
