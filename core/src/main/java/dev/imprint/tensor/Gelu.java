package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static dev.imprint.tensor.Vec.L;
import static dev.imprint.tensor.Vec.S;

/**
 * GELU, elementwise over n values, in two forms:
 * <ul>
 *   <li>{@link #TANH}: the tanh approximation (GPT-2's "gelu_new", HF "gelu_pytorch_tanh"):
 *       gelu(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
 *   <li>{@link #EXACT}: the erf form (HF "gelu"): gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2)).
 * </ul>
 * Every vector loop has a scalar twin ({@link #scalar}, {@link #derivative}) made of the same
 * operations in the same order, so the scalar tail of a block agrees bit for bit with its lanes.
 *
 * <p>EXACT's erf is built here (Java has none): for a = |z| < 1, erf(a) = a + a·P(a²); for
 * a ≥ 1, erfc(a) = e^{−a²}·Q(1/(1 + a)), both near-minimax polynomial fits (Chebyshev least squares
 * against a 40-digit erf; P of degree 6 in a² on [0, 1], Q of degree 8 on a ∈ [1, 9.5], ≈ 1.6e-7
 * relative) evaluated by Horner with FMAs: max |erf error| ≈ 7e-8 (about 1 ulp of values near 1). Both halves are computed for every lane and blended. For x < 0, 1 + erf(x/√2) is taken
 * as erfc(|x|/√2) directly, without the cancellation of 1 + erf, and e^{−x²/2} comes from the exact
 * x² (hi + lo via FMA), so Φ(x) keeps a small relative error far into the negative tail (more
 * accurate than PyTorch's float 1 + erf there).
 */
public enum Gelu {
    /** ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
    TANH,
    /** ½x(1 + erf(x/√2)). */
    EXACT;

    private static final int BLOCK = 4096;

    /** out (n) = gelu(inp (n)). out may alias inp. */
    public void forward(float[] out, float[] inp, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(S, inp, from + i);
                (this == TANH ? tanhForward(x) : exactForward(x)).intoArray(out, from + i);
            }
            for (; i < len; i++) out[from + i] = scalar(inp[from + i]);
        });
    }

    /**
     * dinp (n) = gelu'(inp) ∘ dout (overwrites; dinp may alias dout). In forward y = gelu(x)
     * elementwise, so dx = gelu'(x)·dy with
     * TANH: gelu'(x) = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²);
     * EXACT: gelu'(x) = Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^{−x²/2}/√(2π).
     */
    public void backward(float[] dinp, float[] inp, float[] dout, int n) {
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int from = blk * BLOCK, len = Math.min(BLOCK, n - from), i = 0, bound = S.loopBound(len);
            for (; i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(S, inp, from + i);
                FloatVector local = this == TANH ? tanhDerivative(x) : exactDerivative(x);
                local.mul(FloatVector.fromArray(S, dout, from + i)).intoArray(dinp, from + i);
            }
            for (; i < len; i++) dinp[from + i] = derivative(inp[from + i]) * dout[from + i];
        });
    }

    /** gelu(x) for one value: the vector form's operations in the same order. */
    public float scalar(float x) {
        if (this == TANH) {
            float u = (x * x * x * A + x) * K;
            return x * 0.5f * (Vec.tanh(u) + 1f);
        }
        return x * 0.5f * onePlusErfHalf(x, expNegHalfSquare(x));
    }

    /** gelu'(x) for one value: the vector form's operations in the same order. */
    public float derivative(float x) {
        if (this == TANH) {
            float x2 = x * x, th = Vec.tanh((x2 * A * x + x) * K);
            return (th + 1f) * 0.5f + x * 0.5f * (1f - th * th) * ((x2 * (3f * A) + 1f) * K);
        }
        float e = expNegHalfSquare(x);
        return Math.fma(x * e, INV_SQRT_2PI, onePlusErfHalf(x, e) * 0.5f);
    }

    // ---- TANH ----------------------------------------------------------------------------------

    private static final float K = (float) Math.sqrt(2.0 / Math.PI);
    private static final float A = 0.044715f;

    private static FloatVector tanhForward(FloatVector x) {
        FloatVector u = x.mul(x).mul(x).mul(A).add(x).mul(K);
        return x.mul(0.5f).mul(Vec.tanh(u).add(1f));
    }

    private static FloatVector tanhDerivative(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector th = Vec.tanh(x2.mul(A).mul(x).add(x).mul(K));
        FloatVector sech2 = th.mul(th).neg().add(1f);
        return th.add(1f).mul(0.5f).add(x.mul(0.5f).mul(sech2).mul(x2.mul(3f * A).add(1f).mul(K)));
    }

    // ---- EXACT ---------------------------------------------------------------------------------

    private static final float SQRT1_2 = (float) Math.sqrt(0.5);
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    /** e^{−s} is below the smallest normal float past this; it is flushed to 0 (and x² may be ∞). */
    private static final float EXP_CUTOFF = 87f;
    /** erf(a) = a + a·P(a²) on [0, 1]; P's coefficients from degree 0 up. */
    private static final float P0 = 0.12837916612625122f, P1 = -0.3761262595653534f, P2 = 0.11283597350120544f,
            P3 = -0.02685432881116867f, P4 = 0.005189312156289816f, P5 = -0.0008018855005502701f,
            P6 = 7.882497448008507e-05f;
    /**
     * erfc(a) = e^{−a²}·Q(t), t = 1/(1 + a), on [1, 9.5] (a is clamped to 9.5; past a ≈ 9.33,
     * e^{−a²} is below the float range and is flushed to 0 anyway).
     */
    private static final float Q0 = 6.511723313451512e-06f, Q1 = 0.563896119594574f, Q2 = 0.5698192715644836f,
            Q3 = 0.22197218239307404f, Q4 = 0.1089620366692543f, Q5 = -2.2824652194976807f,
            Q6 = 3.5937843322753906f, Q7 = -2.3640871047973633f, Q8 = 0.5788470506668091f;
    private static final float Q_MAX_A = 9.5f;

    private static FloatVector exactForward(FloatVector x) {
        return x.mul(0.5f).mul(onePlusErfHalf(x, expNegHalfSquare(x)));
    }

    private static FloatVector exactDerivative(FloatVector x) {
        FloatVector e = expNegHalfSquare(x);
        return x.mul(e).fma(FloatVector.broadcast(S, INV_SQRT_2PI), onePlusErfHalf(x, e).mul(0.5f));
    }

    /** e^{−x²/2} from x² = hi + lo exactly: e^{−hi}·(1 − lo); 0 where x²/2 ≥ 87. */
    private static FloatVector expNegHalfSquare(FloatVector x) {
        FloatVector sq = x.mul(x), hi = sq.mul(0.5f), lo = x.fma(x, sq.neg()).mul(0.5f);
        FloatVector e = Vec.exp(hi.neg());
        return lo.neg().fma(e, e).blend(0f, hi.compare(VectorOperators.GE, EXP_CUTOFF));
    }

    private static float expNegHalfSquare(float x) {
        float sq = x * x, hi = sq * 0.5f, lo = Math.fma(x, x, -sq) * 0.5f;
        float e = Vec.exp(-hi);
        return hi >= EXP_CUTOFF ? 0f : Math.fma(-lo, e, e);
    }

    /** 1 + erf(x/√2) given e = e^{−x²/2}: see the class comment. */
    private static FloatVector onePlusErfHalf(FloatVector x, FloatVector e) {
        FloatVector a = x.abs().mul(SQRT1_2);
        FloatVector small = erfSmall(a), big = erfcBig(a, e);
        VectorMask<Float> isSmall = a.compare(VectorOperators.LT, 1f), negative = x.compare(VectorOperators.LT, 0f);
        // x ≥ 0: 1 + erf(a) = 1 + small, or 2 − big; x < 0: erfc(a) = 1 − small, or big
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector ifSmall = one.add(small.blend(small.neg(), negative));
        FloatVector ifBig = FloatVector.broadcast(S, 2f).sub(big).blend(big, negative);
        return ifBig.blend(ifSmall, isSmall);
    }

    private static float onePlusErfHalf(float x, float e) {
        float a = Math.abs(x) * SQRT1_2;
        float small = erfSmall(a), big = erfcBig(a, e);
        boolean negative = x < 0f;
        float ifSmall = 1f + (negative ? -small : small);
        float ifBig = negative ? big : 2f - big;
        return a < 1f ? ifSmall : ifBig;
    }

    /** erf(a) = a + a·P(a²), for 0 ≤ a < 1. */
    private static FloatVector erfSmall(FloatVector a) {
        FloatVector s = a.mul(a);
        FloatVector p = s.fma(FloatVector.broadcast(S, P6), FloatVector.broadcast(S, P5)).fma(s, FloatVector.broadcast(S, P4))
                .fma(s, FloatVector.broadcast(S, P3)).fma(s, FloatVector.broadcast(S, P2))
                .fma(s, FloatVector.broadcast(S, P1)).fma(s, FloatVector.broadcast(S, P0));
        return a.fma(p, a);
    }

    private static float erfSmall(float a) {
        float s = a * a;
        float p = Math.fma(s, P6, P5);
        p = Math.fma(p, s, P4);
        p = Math.fma(p, s, P3);
        p = Math.fma(p, s, P2);
        p = Math.fma(p, s, P1);
        p = Math.fma(p, s, P0);
        return Math.fma(a, p, a);
    }

    /** erfc(a) = e^{−a²}·Q(1/(1 + min(a, 9.5))), for a ≥ 1, given e = e^{−a²}. */
    private static FloatVector erfcBig(FloatVector a, FloatVector e) {
        FloatVector t = FloatVector.broadcast(S, 1f).div(a.min(Q_MAX_A).add(1f));
        FloatVector q = t.fma(FloatVector.broadcast(S, Q8), FloatVector.broadcast(S, Q7))
                .fma(t, FloatVector.broadcast(S, Q6)).fma(t, FloatVector.broadcast(S, Q5))
                .fma(t, FloatVector.broadcast(S, Q4)).fma(t, FloatVector.broadcast(S, Q3))
                .fma(t, FloatVector.broadcast(S, Q2)).fma(t, FloatVector.broadcast(S, Q1))
                .fma(t, FloatVector.broadcast(S, Q0));
        return e.mul(q);
    }

    private static float erfcBig(float a, float e) {
        float t = 1f / (Math.min(a, Q_MAX_A) + 1f);
        float q = Math.fma(t, Q8, Q7);
        q = Math.fma(q, t, Q6);
        q = Math.fma(q, t, Q5);
        q = Math.fma(q, t, Q4);
        q = Math.fma(q, t, Q3);
        q = Math.fma(q, t, Q2);
        q = Math.fma(q, t, Q1);
        q = Math.fma(q, t, Q0);
        return e * q;
    }

    /** erf(z) for one value (the building block of {@link #EXACT}; |error| ≤ ~7e-8). */
    static float erf(float z) {
        float a = Math.abs(z);
        float sq = z * z, lo = Math.fma(z, z, -sq);
        float e = sq >= EXP_CUTOFF ? 0f : Math.fma(-lo, Vec.exp(-sq), Vec.exp(-sq));
        float r = a < 1f ? erfSmall(a) : 1f - erfcBig(a, e);
        return Math.copySign(r, z);
    }
}
