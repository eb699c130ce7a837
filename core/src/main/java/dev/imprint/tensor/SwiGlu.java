package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * The SwiGLU gate of Llama-style MLPs, elementwise over n values:
 * h = silu(g) ∘ u, silu(x) = x·σ(x), σ(x) = 1/(1 + e^{−x}).
 * Dimensions: n = rows × intermediate size; gate g and up u are the two projections of the input.
 *
 * <p>σ is evaluated from e = e^{−|x|} ∈ (0, 1] only (never e^{+|x|}, which overflows): σ = 1/(1 + e)
 * for x ≥ 0 and e/(1 + e) for x < 0, so σ(±100) is exactly 1 and ≈ 0 (1.2e-38, Vec.exp's floor)
 * with no ∞ on the way, and σ(−x) = 1 − σ(x) comes out of the same two numbers without
 * cancellation. Scalar tails repeat the vector operations in the same order.
 */
public final class SwiGlu {
    private static final int BLOCK = 4096;

    private SwiGlu() {}

    /** out (n) = silu(gate (n)) ∘ up (n). out may alias gate or up. */
    public static void forward(float[] out, float[] gate, float[] up, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector g = FloatVector.fromArray(S, gate, from + i);
                FloatVector e = Vec.exp(g.abs().neg()), r = FloatVector.broadcast(S, 1f).div(e.add(1f));
                FloatVector sig = r.blend(e.mul(r), g.compare(VectorOperators.LT, 0f));
                g.mul(sig).mul(FloatVector.fromArray(S, up, from + i)).intoArray(out, from + i);
            }
            for (; i < len; i++) {
                float g = gate[from + i];
                out[from + i] = g * sigmoid(g) * up[from + i];
            }
        });
    }

    /**
     * dgate, dup (n) ← ∂L/∂gate, ∂L/∂up from dout (n) (both overwritten; they must not alias dout,
     * gate or up). In forward h = g·σ(g)·u, so du = dout·silu(g) and
     * dg = dout·u·σ(g)(1 + g(1 − σ(g))), with 1 − σ(g) = σ(−g).
     */
    public static void backward(float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector g = FloatVector.fromArray(S, gate, from + i);
                FloatVector dy = FloatVector.fromArray(S, dout, from + i);
                FloatVector e = Vec.exp(g.abs().neg()), r = FloatVector.broadcast(S, 1f).div(e.add(1f));
                VectorMask<Float> neg = g.compare(VectorOperators.LT, 0f);
                FloatVector er = e.mul(r), sig = r.blend(er, neg), sigNeg = er.blend(r, neg);
                dy.mul(g.mul(sig)).intoArray(dup, from + i);
                FloatVector local = g.mul(sigNeg).fma(sig, sig); // σ(g)·(1 + g·σ(−g))
                dy.mul(FloatVector.fromArray(S, up, from + i)).mul(local).intoArray(dgate, from + i);
            }
            for (; i < len; i++) {
                float g = gate[from + i], dy = dout[from + i];
                float e = Vec.exp(-Math.abs(g)), r = 1f / (e + 1f), er = e * r;
                boolean neg = g < 0f;
                float sig = neg ? er : r, sigNeg = neg ? r : er;
                dup[from + i] = dy * (g * sig);
                float local = Math.fma(g * sigNeg, sig, sig);
                dgate[from + i] = dy * up[from + i] * local;
            }
        });
    }

    /** σ(x) for one value: the vector form's operations in the same order. */
    static float sigmoid(float x) {
        float e = Vec.exp(-Math.abs(x)), r = 1f / (e + 1f);
        return x < 0f ? e * r : r;
    }
}
