package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * RMS normalization over the last dimension (Llama, Qwen2, Mistral), forward and backward.
 * Dimensions: N rows (tokens), C channels. y = x·rstd ∘ w, rstd = 1/√(mean(x²) + ε).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /** out (N,C), rstd (N) ← rmsnorm(inp (N,C); weight (C)). The forward keeps rstd: what backward reads. */
    public static void forward(float[] out, float[] rstd, float[] inp, float[] weight, int rows, int C, float eps) {
        Parallel.forEach(LayerNorm.chunks(rows), chunk -> {
            int from = chunk * LayerNorm.ROWS_PER_TASK, to = Math.min(rows, from + LayerNorm.ROWS_PER_TASK);
            for (int r = from; r < to; r++) {
                int x = r * C;
                float ms = Vec.dot(inp, x, inp, x, C) / C;
                float s = (float) (1.0 / Math.sqrt(ms + eps));
                FloatVector vs = FloatVector.broadcast(S, s);
                int i = 0, bound = S.loopBound(C);
                for (; i < bound; i += L)
                    FloatVector.fromArray(S, inp, x + i).mul(vs).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, x + i);
                for (; i < C; i++) out[x + i] = inp[x + i] * s * weight[i];
                rstd[r] = s;
            }
        });
    }

    /**
     * dinp (N,C) += ∂L/∂inp; dweight (C) += ∂L/∂w (skipped when null), from dout (N,C). In forward
     * n = x·rstd, y = n∘w. So dn = dout∘w and dx = rstd·(dn − n·mean(dn∘n)).
     */
    public static void backward(float[] dinp, float[] dweight, float[] dout, float[] inp, float[] weight, float[] rstd, int rows, int C) {
        int tasks = LayerNorm.chunks(rows);
        float[][] partialW = dweight == null ? null : new float[tasks][C];
        Parallel.forEach(tasks, chunk -> {
            int from = chunk * LayerNorm.ROWS_PER_TASK, to = Math.min(rows, from + LayerNorm.ROWS_PER_TASK);
            for (int r = from; r < to; r++) {
                int x = r * C;
                float s = rstd[r], dnNormMean = 0;
                for (int i = 0; i < C; i++) dnNormMean += weight[i] * dout[x + i] * inp[x + i] * s;
                dnNormMean /= C;
                for (int i = 0; i < C; i++) {
                    float n = inp[x + i] * s;
                    dinp[x + i] += s * (weight[i] * dout[x + i] - n * dnNormMean);
                }
                if (partialW != null) {
                    float[] pw = partialW[chunk];
                    for (int i = 0; i < C; i++) pw[i] += inp[x + i] * s * dout[x + i];
                }
            }
        });
        if (partialW != null) for (int t = 0; t < tasks; t++) Vec.add(partialW[t], 0, dweight, 0, C);
    }
}
