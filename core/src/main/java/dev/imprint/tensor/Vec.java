package dev.imprint.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops over contiguous float ranges. Each loop runs to {@code loopBound} with two
 * independent accumulators where it reduces (so consecutive FMAs do not wait on each other), then
 * a scalar tail.
 */
public final class Vec {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Vec() {}

    /** Σ x[xo..xo+n). */
    public static float sum(float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int i = 0, b2 = n - n % (2 * L);
        for (; i < b2; i += 2 * L) {
            a0 = a0.add(FloatVector.fromArray(S, x, xo + i));
            a1 = a1.add(FloatVector.fromArray(S, x, xo + i + L));
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
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
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
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

    /** y += a·x over n elements. */
    public static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L)
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
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
            FloatVector e = FloatVector.fromArray(S, x, xo + i).sub(vs).lanewise(VectorOperators.EXP);
            e.intoArray(x, xo + i);
            s += e.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(x[xo + i] - shift);
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
        for (; i < b; i += L) s += FloatVector.fromArray(S, x, xo + i).sub(vs).lanewise(VectorOperators.EXP).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += Math.exp(x[xo + i] - shift);
        return s;
    }

    /** x ← a·x over n elements. */
    public static void scale(float a, float[] x, int xo, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int i = 0, b = S.loopBound(n);
        for (; i < b; i += L) FloatVector.fromArray(S, x, xo + i).mul(va).intoArray(x, xo + i);
        for (; i < n; i++) x[xo + i] *= a;
    }
}
