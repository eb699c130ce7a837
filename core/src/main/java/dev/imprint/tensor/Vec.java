package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over contiguous float ranges. Each loop runs to {@code loopBound} with two
 * independent accumulators where it reduces (so consecutive FMAs do not wait on each other), then
 * a scalar tail.
 *
 * <p>Determinism: results must not depend on whether a loop runs interpreted or JIT-compiled (a
 * resumed training run must match an uninterrupted one bit for bit). {@code reduceLanes(ADD)} has
 * an unspecified order and the {@code EXP}/{@code TANH} operators differ by an ulp between the Java
 * fallback and the SVML intrinsic, so lanes are summed in a fixed order ({@link #sumLanes}) and
 * exp is a polynomial built from exactly rounded operations ({@link #exp}).
 */
public final class Vec {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Vec() {}

    /** Σ of the lanes, left to right. */
    public static float sumLanes(FloatVector v) {
        float[] a = v.toArray();
        float s = 0;
        for (float x : a) s += x;
        return s;
    }

    /** Σ x[xo..xo+n). */
    public static float sum(float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int i = 0, b2 = n - n % (2 * L);
        for (; i < b2; i += 2 * L) {
            a0 = a0.add(FloatVector.fromArray(S, x, xo + i));
            a1 = a1.add(FloatVector.fromArray(S, x, xo + i + L));
        }
        float s = sumLanes(a0.add(a1));
        for (; i < n; i++) s += x[xo + i];
        return s;
    }

    /** Σ x·y over n elements. */
    public static float dot(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int i = 0, b2 = n - n % (2 * L);
        for (; i < b2; i += 2 * L) {
            a0 = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), a0);
            a1 = FloatVector.fromArray(S, x, xo + i + L).fma(FloatVector.fromArray(S, y, yo + i + L), a1);
        }
        float s = sumLanes(a0.add(a1));
        for (; i < n; i++) s += x[xo + i] * y[yo + i];
        return s;
    }

    /** max x over n elements (n ≥ 1). */
    public static float max(float[] x, int xo, int n) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L) m = m.max(FloatVector.fromArray(S, x, xo + i));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, x[xo + i]);
        return r;
    }

    /** y += x over n elements. */
    public static void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L)
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }

    /** out = x + y over n elements. */
    public static void add(float[] out, int oo, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L)
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(out, oo + i);
        for (; i < n; i++) out[oo + i] = x[xo + i] + y[yo + i];
    }

    /**
     * In place: x ← exp(x − shift), returning Σ exp(x − shift) (accumulated in double per vector
     * block: rows can be 50k wide and the sum feeds a log).
     */
    public static double expShiftSum(float[] x, int xo, int n, float shift) {
        FloatVector vs = FloatVector.broadcast(S, shift);
        double s = 0;
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, xo + i).sub(vs));
            e.intoArray(x, xo + i);
            s += sumLanes(e);
        }
        for (; i < n; i++) {
            float e = exp(x[xo + i] - shift);
            x[xo + i] = e;
            s += e;
        }
        return s;
    }

    /** Σ exp(x − shift) over n elements, x unchanged (double across vector blocks, as above). */
    public static double expSum(float[] x, int xo, int n, float shift) {
        FloatVector vs = FloatVector.broadcast(S, shift);
        double s = 0;
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L) s += sumLanes(exp(FloatVector.fromArray(S, x, xo + i).sub(vs)));
        for (; i < n; i++) s += exp(x[xo + i] - shift);
        return s;
    }

    /** x ← a·x over n elements. */
    public static void scale(float a, float[] x, int xo, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L) FloatVector.fromArray(S, x, xo + i).mul(va).intoArray(x, xo + i);
        for (; i < n; i++) x[xo + i] *= a;
    }

    // exp(x) = 2^n · e^r, n = round(x·log2 e), r = x − n·ln 2 (split in two parts so r is exact
    // enough), e^r by the Cephes expf polynomial (≈1 ulp). Inputs are clamped to the float range.
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5·2^23: x + ROUND − ROUND rounds x to an integer
    private static final float LO = -87.3f, HI = 88.7f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x lane-wise, deterministic (see the class comment). */
    public static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector n = x.fma(LOG2E, ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(S, P2)).fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P4)).fma(r, FloatVector.broadcast(S, P5));
        FloatVector er = p.mul(r).fma(r, r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return er.mul(bits.reinterpretAsFloats());
    }

    /** e^x for one value, the same operations as the vector form. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float n = Math.fma(x, LOG2E, ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float er = Math.fma(p * r, r, r) + 1f;
        return er * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** tanh(u) = 1 − 2/(e^{2u} + 1), lane-wise from {@link #exp}; saturates to ±1. */
    public static FloatVector tanh(FloatVector u) {
        return FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(u.mul(2f)).add(1f)));
    }

    /** tanh for one value, the same operations as the vector form. */
    public static float tanh(float u) {
        return 1f - 2f / (exp(2f * u) + 1f);
    }
}
