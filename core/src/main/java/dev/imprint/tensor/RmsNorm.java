package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.imprint.tensor.LayerNorm.ROWS_PER_TASK;
import static dev.imprint.tensor.LayerNorm.chunks;
import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * RMS normalization over the last dimension (Llama, Qwen2, Mistral), forward and backward.
 * Dimensions: N rows (tokens), C channels. y = x·rstd ∘ w, rstd = 1/√(mean(x²) + ε).
 * Work is split into chunks of {@link LayerNorm#ROWS_PER_TASK} rows, so no result depends on the
 * number of threads.
 */
public final class RmsNorm {
    private RmsNorm() {}

    /**
     * out (N,C), rstd (N) ← rmsnorm(inp (N,C); weight (C)). The forward keeps rstd: what backward
     * reads. out may alias inp.
     */
    public static void forward(float[] out, float[] rstd, float[] inp, float[] weight, int rows, int C, float eps) {
        Parallel.forEach(chunks(rows), chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK);
            for (int r = from; r < to; r++) {
                int x = r * C;
                float ss = Vec.dot(inp, x, inp, x, C);
                float s = (float) (1.0 / Math.sqrt(ss / C + eps));
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
     * dinp (N,C) += ∂L/∂inp; dweight (C) += ∂L/∂w (skipped when dweight is null), from dout (N,C).
     * In forward this was n = x·rstd, y = n∘w, so dn = dout∘w, dw = Σ_rows dout∘n and, since
     * ∂rstd/∂x = −rstd³·x/C, dx = rstd·(dn − n·mean(dn∘n)).
     * dweight is summed per chunk of rows, then the chunks are added in order.
     */
    public static void backward(float[] dinp, float[] dweight, float[] dout, float[] inp, float[] weight,
                                float[] rstd, int rows, int C) {
        int tasks = chunks(rows);
        float[][] partialW = dweight == null ? null : new float[tasks][C];
        Parallel.forEach(tasks, chunk -> {
            int from = chunk * ROWS_PER_TASK, to = Math.min(rows, from + ROWS_PER_TASK);
            int bound = S.loopBound(C), bound2 = C - C % (2 * L);
            for (int r = from; r < to; r++) {
                int x = r * C;
                float s = rstd[r];
                FloatVector vs = FloatVector.broadcast(S, s);
                // Σ dn∘n, two accumulators as in Vec.dot
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                int i = 0;
                for (; i < bound2; i += 2 * L) {
                    FloatVector n0 = FloatVector.fromArray(S, inp, x + i).mul(vs);
                    FloatVector n1 = FloatVector.fromArray(S, inp, x + i + L).mul(vs);
                    FloatVector dn0 = FloatVector.fromArray(S, dout, x + i).mul(FloatVector.fromArray(S, weight, i));
                    FloatVector dn1 = FloatVector.fromArray(S, dout, x + i + L).mul(FloatVector.fromArray(S, weight, i + L));
                    a0 = dn0.fma(n0, a0);
                    a1 = dn1.fma(n1, a1);
                }
                float dot = Vec.sumLanes(a0.add(a1));
                for (; i < C; i++) dot += dout[x + i] * weight[i] * (inp[x + i] * s);
                float c = dot / C;
                FloatVector vNegC = FloatVector.broadcast(S, -c);
                // dinp += s·(dn − n·c)
                for (i = 0; i < bound; i += L) {
                    FloatVector n = FloatVector.fromArray(S, inp, x + i).mul(vs);
                    FloatVector dn = FloatVector.fromArray(S, dout, x + i).mul(FloatVector.fromArray(S, weight, i));
                    n.fma(vNegC, dn).fma(vs, FloatVector.fromArray(S, dinp, x + i)).intoArray(dinp, x + i);
                }
                for (; i < C; i++) {
                    float n = inp[x + i] * s, dn = dout[x + i] * weight[i];
                    dinp[x + i] = Math.fma(Math.fma(n, -c, dn), s, dinp[x + i]);
                }
                if (partialW != null) {
                    float[] pw = partialW[chunk];
                    for (i = 0; i < bound; i += L) {
                        FloatVector n = FloatVector.fromArray(S, inp, x + i).mul(vs);
                        FloatVector.fromArray(S, dout, x + i).fma(n, FloatVector.fromArray(S, pw, i)).intoArray(pw, i);
                    }
                    for (; i < C; i++) pw[i] = Math.fma(dout[x + i], inp[x + i] * s, pw[i]);
                }
            }
        });
        if (partialW != null) {
            for (int t = 0; t < tasks; t++) Vec.add(partialW[t], 0, dweight, 0, C);
        }
    }
}
