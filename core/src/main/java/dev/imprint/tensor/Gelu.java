package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * GELU with the tanh approximation (GPT-2's "gelu_new"):
 * gelu(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
 */
public final class Gelu {
    private static final float K = (float) Math.sqrt(2.0 / Math.PI);
    private static final float A = 0.044715f;
    private static final int BLOCK = 4096;

    private Gelu() {}

    /** out (n) = gelu(inp (n)). */
    public static void forward(float[] out, int outOff, float[] inp, int inpOff, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(S, inp, inpOff + from + i);
                FloatVector u = x.mul(x).mul(x).mul(A).add(x).mul(K);
                x.mul(0.5f).mul(Vec.tanh(u).add(1f)).intoArray(out, outOff + from + i);
            }
            for (; i < len; i++) out[outOff + from + i] = scalar(inp[inpOff + from + i]);
        });
    }

    /**
     * dinp (n) = gelu'(inp) ∘ dout (overwrites). In forward y = ½x(1 + tanh u); so
     * dy/dx = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
     */
    public static void backward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(S, inp, inpOff + from + i);
                FloatVector x2 = x.mul(x);
                FloatVector th = Vec.tanh(x2.mul(A).mul(x).add(x).mul(K));
                FloatVector sech2 = th.mul(th).neg().add(1f);
                FloatVector local = th.add(1f).mul(0.5f)
                        .add(x.mul(0.5f).mul(sech2).mul(x2.mul(3f * A).add(1f).mul(K)));
                local.mul(FloatVector.fromArray(S, dout, doutOff + from + i)).intoArray(dinp, dinpOff + from + i);
            }
            for (; i < len; i++) dinp[dinpOff + from + i] = derivative(inp[inpOff + from + i]) * dout[doutOff + from + i];
        });
    }

    /** gelu(x) for one value: the vector form's operations in the same order. */
    public static float scalar(float x) {
        float u = (x * x * x * A + x) * K;
        return x * 0.5f * (Vec.tanh(u) + 1f);
    }

    /** gelu'(x) for one value: the vector form's operations in the same order. */
    public static float derivative(float x) {
        float x2 = x * x, th = Vec.tanh((x2 * A * x + x) * K);
        return (th + 1f) * 0.5f + x * 0.5f * (1f - th * th) * ((x2 * (3f * A) + 1f) * K);
    }
}
