package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * Layer normalization over the last dimension, forward and backward.
 * Dimensions: N rows (tokens), C channels. y = (x − μ)·rstd ∘ w + b, rstd = 1/√(σ² + ε).
 */
public final class LayerNorm {
    private LayerNorm() {}

    /**
     * out (N,C), mean (N), rstd (N) ← layernorm(inp (N,C); weight (C), bias (C), or no bias when null).
     * The forward keeps mean and rstd: exactly what backward reads.
     */
    public static void forward(float[] out, float[] mean, float[] rstd, float[] inp, float[] weight, float[] bias,
                               int rows, int C, float eps) {
        Parallel.forEach(chunks(rows), chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK);
            for (int r = from; r < to; r++) {
                int x = r * C, y = r * C;
                float m = Vec.sum(inp, x, C) / C;
                // two-pass variance: (x − μ)² is never negative and does not cancel
                FloatVector vm = FloatVector.broadcast(S, m), acc = FloatVector.zero(S);
                int i = 0, bound = S.loopBound(C);
                for (; i < bound; i += L) {
                    FloatVector d = FloatVector.fromArray(S, inp, x + i).sub(vm);
                    acc = d.fma(d, acc);
                }
                float v = Vec.sumLanes(acc);
                for (; i < C; i++) { float d = inp[x + i] - m; v += d * d; }
                float s = (float) (1.0 / Math.sqrt(v / C + eps));
                FloatVector vs = FloatVector.broadcast(S, s);
                if (bias != null) {
                    for (i = 0; i < bound; i += L) {
                        FloatVector n = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs);
                        n.fma(FloatVector.fromArray(S, weight, i), FloatVector.fromArray(S, bias, i)).intoArray(out, y + i);
                    }
                    for (; i < C; i++) out[y + i] = (inp[x + i] - m) * s * weight[i] + bias[i];
                } else {
                    for (i = 0; i < bound; i += L)
                        FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, y + i);
                    for (; i < C; i++) out[y + i] = (inp[x + i] - m) * s * weight[i];
                }
                mean[r] = m;
                rstd[r] = s;
            }
        });
    }

    /**
     * dinp (N,C) += ∂L/∂inp; dweight, dbias (C) += ∂L/∂w, ∂L/∂b (each skipped when null), from
     * dout (N,C). In forward: n = (x − μ)·rstd, y = n∘w + b. So dn = dout∘w and
     * dx = rstd·(dn − mean(dn) − n·mean(dn∘n)).
     */
    public static void backward(float[] dinp, float[] dweight, float[] dbias, float[] dout, float[] inp, float[] weight,
                                float[] mean, float[] rstd, int rows, int C) {
        int tasks = chunks(rows);
        float[][] partialW = dweight == null ? null : new float[tasks][C];
        float[][] partialB = dbias == null ? null : new float[tasks][C];
        Parallel.forEach(tasks, chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK);
            float[] norm = new float[C];
            for (int r = from; r < to; r++) {
                int x = r * C, g = r * C, d = r * C;
                float m = mean[r], s = rstd[r];
                float dnMean = 0, dnNormMean = 0;
                for (int i = 0; i < C; i++) {
                    float n = (inp[x + i] - m) * s;
                    norm[i] = n;
                    float dn = weight[i] * dout[g + i];
                    dnMean += dn;
                    dnNormMean += dn * n;
                }
                dnMean /= C;
                dnNormMean /= C;
                for (int i = 0; i < C; i++) {
                    float dn = weight[i] * dout[g + i];
                    dinp[d + i] += s * (dn - dnMean - norm[i] * dnNormMean);
                }
                if (partialW != null) {
                    float[] pw = partialW[chunk];
                    for (int i = 0; i < C; i++) pw[i] += norm[i] * dout[g + i];
                }
                if (partialB != null) {
                    float[] pb = partialB[chunk];
                    for (int i = 0; i < C; i++) pb[i] += dout[g + i];
                }
            }
        });
        for (int t = 0; t < tasks; t++) {
            if (partialW != null) Vec.add(partialW[t], 0, dweight, 0, C);
            if (partialB != null) Vec.add(partialB[t], 0, dbias, 0, C);
        }
    }

    static final int ROWS_PER_TASK = 32;

    static int chunks(int rows) {
        return (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    }
}
