package dev.imprint.curvature;

import dev.imprint.InputException;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Every strategy against an explicitly formed (G + λI)⁻¹ vec(V) in float64. */
class PreconditionerTest {

    @Test
    void kfacSolvesTheDampedKroneckerProduct() {
        Random rnd = Synthetic.random("K-FAC vs dense (A ⊗ S + λI)⁻¹");
        Synthetic data = Synthetic.small(rnd);
        CovarianceTap tap = new CovarianceTap(data.layers);
        data.feed(tap, 3);
        for (int l = 0; l < data.layers.size(); l++) {
            TrackedLayer layer = data.layers.get(l);
            int p = layer.outFeatures(), a = layer.activationDim();
            Covariances c = tap.covariances().get(l);
            KroneckerEigenbasis q = KroneckerEigenbasis.of(c);
            double lambda = Damping.paperDefault().lambda(q.kroneckerEigenvalues());
            Preconditioner kfac = new EigenbasisPreconditioner(q, new Damping.Absolute(lambda).reciprocal(q.kroneckerEigenvalues(), layer.name()));
            double[] g = Dense.kron(c.activation().mean(), a, c.gradient().mean(), p); // G_kfac = A ⊗ S (Eq. 16)
            checkAgainstDense(kfac, g, lambda, p, a, rnd, layer.name() + " kfac");
        }
    }

    @Test
    void ekfacSolvesTheCorrectedEigenbasisMatrix() {
        Random rnd = Synthetic.random("EK-FAC vs dense (Q diag(Λ) Qᵀ + λI)⁻¹");
        Synthetic data = Synthetic.small(rnd);
        List<KroneckerEigenbasis> bases = EigenvalueCorrectionTest.eigenbases(data);
        EigenvalueCorrection tap = new EigenvalueCorrection(data.layers, bases);
        data.feed(tap, 1, 2);
        for (int l = 0; l < data.layers.size(); l++) {
            TrackedLayer layer = data.layers.get(l);
            int p = layer.outFeatures(), a = layer.activationDim();
            double[] lambdaMatrix = tap.lambdas().get(l).mean();
            double lambda = 0.1 * java.util.Arrays.stream(lambdaMatrix).average().orElseThrow();
            Preconditioner ekfac = new EigenbasisPreconditioner(bases.get(l), Damping.paperDefault().reciprocal(lambdaMatrix, layer.name()));
            KroneckerEigenbasis q = bases.get(l);
            double[] g = Dense.conjugate(Dense.kron(q.activation().dense(), a, q.gradient().dense(), p), Dense.vec(lambdaMatrix, p, a), p * a);
            checkAgainstDense(ekfac, g, lambda, p, a, rnd, layer.name() + " ekfac");
        }
    }

    @Test
    void identityReturnsVAndDiagonalDividesElementwise() {
        Random rnd = Synthetic.random("identity and diagonal");
        Synthetic data = Synthetic.small(rnd);
        DiagonalFisher tap = new DiagonalFisher(data.layers);
        data.feed(tap, 3);
        TrackedLayer layer = data.layers.getFirst();
        int p = layer.outFeatures(), a = layer.activationDim();
        double[] v = Synthetic.randomMatrix(rnd, p, a);

        Preconditioner identity = new Preconditioner.Identity(p, a);
        assertArrayEquals(v, identity.precondition(v), 0.0);
        assertArrayEquals(v, Dense.toDoubles(identity.precondition(floats(v, p, a)).data()), 0.0);

        double[] naive = new double[p * a];
        for (double[] g : data.sequenceGradients(0))
            for (int i = 0; i < g.length; i++) naive[i] += g[i] * g[i] / data.sequences();
        double lambda = 0.1 * java.util.Arrays.stream(naive).average().orElseThrow();
        double[] expected = new double[p * a];
        for (int i = 0; i < expected.length; i++) expected[i] = v[i] / (naive[i] + lambda);
        Preconditioner diagonal = new Preconditioner.Elementwise(p, a, Damping.paperDefault().reciprocal(tap.lambdas().getFirst().mean(), layer.name()));
        assertEquals(0, Dense.relativeError(diagonal.precondition(v), expected), 1e-6);
        assertEquals(0, Dense.relativeError(Dense.toDoubles(diagonal.precondition(floats(v, p, a)).data()), expected), 1e-6);
        checkQuadraticForm(identity, v, v, p, a, "identity");
        checkQuadraticForm(diagonal, v, expected, p, a, "diagonal");
    }

    @Test
    void dampingDefaultsAndValidation() {
        assertEquals(0.1 * 2.5, Damping.paperDefault().lambda(new double[] {1, 2, 3, 4}), 1e-15);
        assertEquals(0.7, new Damping.Absolute(0.7).lambda(new double[] {1, 2, 3, 4}));
        assertEquals("illegal damping -1.0: must be positive and finite",
                assertThrows(IllegalArgumentException.class, () -> new Damping.Absolute(-1)).getMessage());
        assertEquals("illegal relative damping NaN: must be positive and finite",
                assertThrows(IllegalArgumentException.class, () -> new Damping.Relative(Double.NaN)).getMessage());
        IllegalStateException zero = assertThrows(IllegalStateException.class, () -> Damping.paperDefault().reciprocal(new double[] {0, 0}, "h.0.mlp.c_fc"));
        assertEquals("h.0.mlp.c_fc: Λ + λ = 0.0 at entry 0 (λ = 0.0); give an explicit positive damping", zero.getMessage());
        assertArrayEquals(new double[] {1 / 1.5, 1 / 2.5}, new Damping.Absolute(0.5).reciprocal(new double[] {1, 2}, "x"), 0.0);
    }

    @Test
    void strategiesParseAndRejectUnknownNames() {
        for (String n : new String[] {"identity", "diagonal", "kfac", "kfac-sequence", "ekfac"}) assertEquals(n, Strategy.parse(n).name());
        assertEquals(new Strategy.Ekfac(), Strategy.defaultStrategy());
        assertEquals("unknown strategy 'kfc' (expected identity, diagonal, kfac, kfac-sequence or ekfac)",
                assertThrows(InputException.class, () -> Strategy.parse("kfc")).getMessage());
    }

    @Test
    void rejectsWrongShape() {
        Preconditioner identity = new Preconditioner.Identity(4, 6);
        assertEquals("cannot precondition a 6x4 matrix with a 4x6 preconditioner",
                assertThrows(IllegalArgumentException.class, () -> identity.precondition(Mat.zeros(6, 4))).getMessage());
    }

    /**
     * Both paths = dense solve, for a random V. The eigenvectors are stored in float32 (method §3), so
     * even the float64 path rotates with a Q that is orthonormal only to QQᵀ = I + O(√n·2⁻²⁴): it
     * agrees with the dense solve to float32 rounding of Q (1e-6), not to float64 rounding.
     */
    private static void checkAgainstDense(Preconditioner pre, double[] g, double lambda, int p, int a, Random rnd, String what) {
        double[] v = Synthetic.randomMatrix(rnd, p, a);
        double[] expected = Dense.unvec(Dense.solveDamped(g, lambda, Dense.vec(v, p, a), p * a), p, a);
        double[] got = pre.precondition(v);
        double[] got32 = Dense.toDoubles(pre.precondition(floats(v, p, a)).data());
        double err = Dense.relativeError(got, expected), err32 = Dense.relativeError(got32, expected);
        System.out.printf("%s: float64 path %.2e, float32 path %.2e relative to the dense solve%n", what, err, err32);
        assertEquals(0, err, 1e-6, what + " float64");
        assertEquals(0, err32, 1e-5, what + " float32");
        checkQuadraticForm(pre, v, expected, p, a, what);
    }

    /** ⟨V, precond(V)⟩ from the float32 V against the dense solve's. */
    private static void checkQuadraticForm(Preconditioner pre, double[] v, double[] preconditioned, int p, int a, String what) {
        double expected = 0;
        for (int i = 0; i < v.length; i++) expected += v[i] * preconditioned[i];
        assertEquals(expected, pre.quadraticForm(floats(v, p, a)), 1e-5 * Math.abs(expected), what + " quadratic form");
    }

    static Mat floats(double[] v, int p, int a) {
        Mat m = Mat.zeros(p, a);
        for (int i = 0; i < v.length; i++) m.data()[i] = (float) v[i];
        return m;
    }
}
