package dev.imprint.tensor;

/**
 * Rotary position embedding in the rotate-half convention of GPT-NeoX and Hugging Face's Llama,
 * on the first R dimensions of a head (dimensions [R, D) pass through): pair i &lt; R/2 is
 * (x_i, x_{i+R/2}), rotated by θ = t·invFreq_i at position t. Tables of cos θ and sin θ
 * (positions, R/2) are computed once in double. Dimensions: N rows, T tokens per sequence (row r
 * is position r mod T), R rotary dimensions.
 */
public final class Rope {
    /** Frequency scaling of the rotary base: none, or Llama 3's (rope_scaling type "llama3"). */
    public sealed interface Scaling {
        record None() implements Scaling {}

        /** Hugging Face's {@code _compute_llama3_parameters}. */
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
        if (rotaryDims <= 0 || rotaryDims % 2 != 0) throw new IllegalArgumentException("rotary dimensions must be positive and even, got " + rotaryDims);
        if (positions <= 0) throw new IllegalArgumentException("positions must be positive, got " + positions);
        if (!(theta > 0) || Double.isInfinite(theta)) throw new IllegalArgumentException("rope theta must be positive, got " + theta);
        int half = rotaryDims / 2;
        float[] cos = new float[Math.multiplyExact(positions, half)], sin = new float[positions * half];
        for (int i = 0; i < half; i++) {
            double inv = scaling.apply(Math.pow(theta, -2.0 * i / rotaryDims));
            for (int t = 0; t < positions; t++) {
                double a = t * inv;
                cos[t * half + i] = (float) Math.cos(a);
                sin[t * half + i] = (float) Math.sin(a);
            }
        }
        return new Rope(rotaryDims, positions, cos, sin);
    }

    public int rotaryDims() {
        return rotaryDims;
    }

    /** Rotates, in place, the R dims from column {@code colOffset} of each of N rows of x (row stride {@code rowStride}). */
    public void forward(float[] x, int rows, int T, int rowStride, int colOffset) {
        rotate(x, rows, T, rowStride, colOffset, 1f);
    }

    /** In forward y = R_θ x, a rotation; so dx = R_θᵀ dy = R_{−θ} dy, in place. */
    public void backward(float[] dx, int rows, int T, int rowStride, int colOffset) {
        rotate(dx, rows, T, rowStride, colOffset, -1f);
    }

    private void rotate(float[] x, int rows, int T, int rowStride, int colOffset, float sign) {
        if (T > positions) throw new IllegalArgumentException(T + " positions, tables for " + positions);
        int half = rotaryDims / 2;
        Parallel.forEach(LayerNorm.chunks(rows), chunk -> {
            int from = chunk * LayerNorm.ROWS_PER_TASK, to = Math.min(rows, from + LayerNorm.ROWS_PER_TASK);
            for (int r = from; r < to; r++) {
                int o = r * rowStride + colOffset, c = (r % T) * half;
                for (int i = 0; i < half; i++) {
                    float a = x[o + i], b = x[o + i + half], co = cos[c + i], si = sign * sin[c + i];
                    x[o + i] = a * co - b * si;
                    x[o + i + half] = b * co + a * si;
                }
            }
        });
    }
}
