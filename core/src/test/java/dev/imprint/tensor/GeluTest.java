package dev.imprint.tensor;

import static dev.imprint.tensor.RmsNormTest.inWorker;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * {@link Gelu}: TANH bit for bit against the formula it always had; EXACT's erf against a float64
 * erf written here; EXACT's forward against float64 x·Φ(x) and its backward against central
 * differences of it; every array result bit for bit against the scalar twin (so vector lanes and
 * scalar tails agree). Sizes straddle the vector width and the 4096-element block.
 */
class GeluTest {
    private static final long SEED = 0x5EED_0003L;
    private static final int[] SIZES = {1, 3, 4, 6, 17, 64, 65, 1025, 4098, 3 * 4096 + 5};

    // ---- erf -----------------------------------------------------------------------------------

    /**
     * Over [−6, 6] on a 1e-5 grid (1.2M points, so every float region is visited): |erf − erf64| ≤
     * 1e-7 (the fit reaches ≈ 7e-8, about 1.2 ulp of values near 1).
     */
    @Test
    void erfIsWithin1e7OfFloat64Erf() {
        double worst = 0;
        float at = 0;
        for (int k = -600_000; k <= 600_000; k++) {
            float z = k * 1e-5f;
            double e = Math.abs(Gelu.erf(z) - erf64(z));
            if (e > worst) {
                worst = e;
                at = z;
            }
        }
        System.out.printf("erf: max |error| %.3e at %s%n", worst, at);
        assertTrue(worst <= 1e-7, "max |erf error| " + worst + " at " + at);
    }

    @Test
    void erfIsOddSaturatesAndPropagatesNaN() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int k = 0; k < 10_000; k++) {
            float z = (float) rnd.nextDouble(-7, 7);
            assertEquals(-Gelu.erf(z), Gelu.erf(-z), "z=" + z);
        }
        for (float z : new float[] {4f, 6f, 100f, 1e30f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertEquals(1f, Gelu.erf(z), "z=" + z);
            assertEquals(-1f, Gelu.erf(-z), "z=" + -z);
        }
        assertEquals(0f, Gelu.erf(0f));
        assertEquals(1.1283791f * 1e-30f, Gelu.erf(1e-30f), 1e-37f);
        assertTrue(Float.isNaN(Gelu.erf(Float.NaN)));
    }

    /** The double references themselves: erf64 and erfc64 against 30-digit values (mpmath), and each other. */
    @Test
    void float64ReferencesAreSound() {
        assertEquals(0.5204998778130465, erf64(0.5), 4e-16);
        assertEquals(0.8427007929497149, erf64(1), 4e-16);
        assertEquals(0.9953222650189527, erf64(2), 4e-16);
        assertEquals(2.209049699858544e-05, erfc64(3), 1e-20);
        assertEquals(1.5374597944280349e-12, erfc64(5), 1e-26);
        assertEquals(2.088487583762545e-45, erfc64(10), 1e-58);
        // the series' own rounding leaves erf64 ≈ 1e-15 off near z = 3 (its terms grow to e^{z²}); ample here
        for (double z = 2; z < 4; z += 0.01) assertEquals(1 - erf64(z), erfcFraction(z), 5e-15, "z=" + z);
        assertEquals(0.9999779095030014, erf64(3), 2e-15);
        assertEquals(0.9999999845827421, erf64(4), 2e-15);
    }

    // ---- TANH ----------------------------------------------------------------------------------

    /** TANH is bit for bit the formula of the GPT-2-era kernel, forward and backward. */
    @Test
    void tanhIsBitwiseUnchanged() {
        SplittableRandom seeds = new SplittableRandom(SEED + 1);
        for (int n : SIZES) {
            long seed = seeds.nextLong();
            float[] x = inputs(new SplittableRandom(seed), n, 10), dout = RmsNormTest.random(new SplittableRandom(seed + 1), n, 2);
            float[] y = new float[n], dx = new float[n];
            Gelu.TANH.forward(y, x, n);
            Gelu.TANH.backward(dx, x, dout, n);
            for (int i = 0; i < n; i++) {
                float wantY = oldTanhGelu(x[i]), wantD = oldTanhDerivative(x[i]) * dout[i];
                if (Float.floatToIntBits(y[i]) != Float.floatToIntBits(wantY))
                    fail("n=" + n + " seed=" + seed + ": TANH gelu(" + x[i] + ") = " + y[i] + ", old formula " + wantY);
                if (Float.floatToIntBits(dx[i]) != Float.floatToIntBits(wantD))
                    fail("n=" + n + " seed=" + seed + ": TANH dinp at " + x[i] + " = " + dx[i] + ", old formula " + wantD);
            }
        }
    }

    /** The old kernel's scalar forms (its vector loop did the same operations in the same order). */
    private static float oldTanhGelu(float x) {
        float k = (float) Math.sqrt(2.0 / Math.PI), a = 0.044715f;
        float u = (x * x * x * a + x) * k;
        return x * 0.5f * (Vec.tanh(u) + 1f);
    }

    private static float oldTanhDerivative(float x) {
        float k = (float) Math.sqrt(2.0 / Math.PI), a = 0.044715f;
        float x2 = x * x, th = Vec.tanh((x2 * a * x + x) * k);
        return (th + 1f) * 0.5f + x * 0.5f * (1f - th * th) * ((x2 * (3f * a) + 1f) * k);
    }

    // ---- EXACT ---------------------------------------------------------------------------------

    /**
     * |gelu − x·Φ64(x)| ≤ 1e-6·|x·Φ64(x)| for x in [−13, 10]: a relative bound, including the negative
     * tail where Φ is tiny (Φ(−13) ≈ 6e-39), because 1 + erf is taken as erfc there. Past −13.2,
     * e^{−x²/2} is below the float range and the result is −0 (|true value| < 1e-38).
     */
    @Test
    void exactForwardMatchesFloat64Reference() {
        SplittableRandom seeds = new SplittableRandom(SEED + 2);
        double worst = 0;
        for (int n : SIZES) {
            long seed = seeds.nextLong();
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) rnd.nextDouble(-13, 10);
            float[] y = new float[n];
            Gelu.EXACT.forward(y, x, n);
            for (int i = 0; i < n; i++) {
                double want = x[i] * phi64(x[i]), rel = Math.abs(y[i] - want) / Math.abs(want);
                worst = Math.max(worst, x[i] == 0 ? 0 : rel);
                if (!(rel <= 1e-6) && !(x[i] == 0 && y[i] == 0))
                    fail("n=" + n + " seed=" + seed + ": gelu(" + x[i] + ") = " + y[i] + ", reference " + want + ", relative error " + rel);
            }
        }
        // a dense sweep too, so no region between the random points hides an error
        for (int k = -1_300_000; k <= 1_000_000; k++) {
            float x = k * 1e-5f;
            double want = x * phi64(x), rel = x == 0 ? 0 : Math.abs(Gelu.EXACT.scalar(x) - want) / Math.abs(want);
            worst = Math.max(worst, rel);
            if (!(rel <= 1e-6)) fail("gelu(" + x + ") = " + Gelu.EXACT.scalar(x) + ", reference " + want);
        }
        System.out.printf("Gelu.EXACT forward: max relative error %.3e%n", worst);
    }

    /**
     * dinp = gelu'(x)·dout against central differences of the float64 x·Φ(x). gelu' crosses zero
     * near x = −0.75, so the bound is relative to the size of its two terms, Φ(x) + |x|·φ(x).
     */
    @Test
    void exactBackwardMatchesFiniteDifferences() {
        SplittableRandom seeds = new SplittableRandom(SEED + 3);
        double worst = 0;
        for (int n : SIZES) {
            long seed = seeds.nextLong();
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] x = new float[n], dout = RmsNormTest.random(rnd, n, 2);
            for (int i = 0; i < n; i++) x[i] = (float) rnd.nextDouble(-12, 10);
            float[] dx = new float[n];
            Gelu.EXACT.backward(dx, x, dout, n);
            for (int i = 0; i < n; i++) {
                double h = 1e-4, xi = x[i];
                double fd = ((xi + h) * phi64(xi + h) - (xi - h) * phi64(xi - h)) / (2 * h) * dout[i];
                double scale = (phi64(xi) + Math.abs(xi) * Math.exp(-xi * xi / 2) / Math.sqrt(2 * Math.PI)) * Math.abs(dout[i]);
                double d = Math.abs(dx[i] - fd), allowed = 1e-6 * scale + 1e-12;
                worst = Math.max(worst, d / scale);
                if (!(d <= allowed))
                    fail("n=" + n + " seed=" + seed + ": dinp at x=" + x[i] + " = " + dx[i] + ", finite difference " + fd + ", |diff| " + d);
            }
        }
        System.out.printf("Gelu.EXACT backward: max error %.3e relative to Φ + |x|φ%n", worst);
    }

    /** Every element of forward/backward equals the scalar twin's, bit for bit, for both forms. */
    @Test
    void vectorLanesMatchScalarTwinBitForBit() {
        SplittableRandom seeds = new SplittableRandom(SEED + 4);
        for (Gelu g : Gelu.values()) {
            for (int n : SIZES) {
                long seed = seeds.nextLong();
                SplittableRandom rnd = new SplittableRandom(seed);
                float[] x = inputs(rnd, n, 15), dout = RmsNormTest.random(rnd, n, 2), y = new float[n], dx = new float[n];
                g.forward(y, x, n);
                g.backward(dx, x, dout, n);
                for (int i = 0; i < n; i++) {
                    if (Float.floatToIntBits(y[i]) != Float.floatToIntBits(g.scalar(x[i])))
                        fail(g + " n=" + n + " seed=" + seed + " i=" + i + ": forward " + y[i] + " vs scalar " + g.scalar(x[i]));
                    float d = g.derivative(x[i]) * dout[i];
                    if (Float.floatToIntBits(dx[i]) != Float.floatToIntBits(d))
                        fail(g + " n=" + n + " seed=" + seed + " i=" + i + ": backward " + dx[i] + " vs scalar " + d);
                }
            }
        }
    }

    @Test
    void exactHandlesLargeInputs() {
        float[] x = {100f, -100f, 1e20f, -1e20f, 3e38f, -3e38f, 13.5f, -13.5f, 9f, -9f};
        int n = x.length;
        float[] y = new float[n], dx = new float[n], ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        Gelu.EXACT.forward(y, x, n);
        Gelu.EXACT.backward(dx, x, ones, n);
        for (int i = 0; i < n; i++) {
            double want = x[i] * phi64(x[i]);
            double wantD = phi64(x[i]) + x[i] * Math.exp(-(double) x[i] * x[i] / 2) / Math.sqrt(2 * Math.PI);
            assertTrue(Math.abs(y[i] - want) <= 1e-6 * Math.abs(want) + 1e-37, "gelu(" + x[i] + ") = " + y[i] + ", want " + want);
            assertTrue(Math.abs(dx[i] - wantD) <= 1e-6, "gelu'(" + x[i] + ") = " + dx[i] + ", want " + wantD);
        }
        assertTrue(Float.isNaN(Gelu.EXACT.scalar(Float.NaN)) && Float.isNaN(Gelu.EXACT.derivative(Float.NaN)));
    }

    /** backward may write its result over dout. */
    @Test
    void backwardMayAliasDout() {
        SplittableRandom rnd = new SplittableRandom(SEED + 5);
        int n = 4098;
        for (Gelu g : Gelu.values()) {
            float[] x = inputs(rnd, n, 6), dout = RmsNormTest.random(rnd, n, 1), dx = new float[n];
            g.backward(dx, x, dout, n);
            g.backward(dout, x, dout, n);
            assertArrayEquals(dx, dout, g.toString());
        }
    }

    /** Serial (inside a pool worker) and parallel (top level, four blocks) runs are bit-identical. */
    @Test
    void serialAndParallelRunsAreBitIdentical() {
        SplittableRandom rnd = new SplittableRandom(SEED + 6);
        int n = 3 * 4096 + 5;
        float[] x = inputs(rnd, n, 8), dout = RmsNormTest.random(rnd, n, 1);
        for (Gelu g : Gelu.values()) {
            float[] y = new float[n], dx = new float[n], yn = new float[n], dxn = new float[n];
            g.forward(y, x, n);
            g.backward(dx, x, dout, n);
            inWorker(() -> {
                g.forward(yn, x, n);
                g.backward(dxn, x, dout, n);
            });
            assertArrayEquals(y, yn, g.toString());
            assertArrayEquals(dx, dxn, g.toString());
        }
    }

    /** n values uniform in [−scale, scale), with zeros, ±tiny and ±large values planted at the front. */
    private static float[] inputs(SplittableRandom rnd, int n, float scale) {
        float[] x = RmsNormTest.random(rnd, n, scale);
        float[] special = {0f, -0f, 1e-30f, -1e-30f, 1f, -1f, 20f, -20f, 100f, -100f, 1.4142135f, -1.4142135f};
        for (int i = 0; i < Math.min(n, special.length); i++) x[i] = special[i];
        return x;
    }

    // ---- float64 references --------------------------------------------------------------------

    /** erf by its series of positive terms, erf(z) = 2/√π·e^{−z²}·Σ 2ⁿz^{2n+1}/(1·3···(2n+1)): no cancellation. */
    static double erf64(double z) {
        if (Math.abs(z) > 6) return Math.signum(z) * (1 - erfc64(Math.abs(z)));
        double t = z, s = z, z2 = z * z;
        for (int n = 1; n < 1000 && Math.abs(t) > 1e-18 * Math.abs(s); n++) {
            t *= 2 * z2 / (2 * n + 1);
            s += t;
        }
        return 2 / Math.sqrt(Math.PI) * Math.exp(-z2) * s;
    }

    /** erfc for z ≥ 0: 1 − erf below 2, the continued fraction from 2 on (relative accuracy in the tail). */
    static double erfc64(double z) {
        return z < 2 ? 1 - erf64(z) : erfcFraction(z);
    }

    /** erfc(z) = e^{−z²}/√π · 1/(z + ½/(z + 1/(z + (3/2)/(z + …)))), evaluated from depth 400 up. */
    private static double erfcFraction(double z) {
        double f = z;
        for (int k = 400; k >= 1; k--) f = z + (k / 2.0) / f;
        return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
    }

    /** Φ(x) = ½erfc(−x/√2), with the tail taken from erfc on whichever side is small. */
    private static double phi64(double x) {
        double z = x / Math.sqrt(2);
        return x >= 0 ? 1 - erfc64(z) / 2 : erfc64(-z) / 2;
    }
}
