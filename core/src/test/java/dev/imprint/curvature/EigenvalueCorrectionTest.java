package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class EigenvalueCorrectionTest {

    /** Λ (Eq. 20) is the diagonal of the per-sequence Fisher 1/N Σ_b vec(DW̄_b) vec(DW̄_b)ᵀ in the basis Q_A ⊗ Q_S. */
    @Test
    void lambdaIsTheFisherDiagonalInTheKroneckerEigenbasis() {
        Synthetic data = Synthetic.small(Synthetic.random("eigenvalue correction vs dense Fisher"));
        List<KroneckerEigenbasis> bases = eigenbases(data);
        EigenvalueCorrection tap = new EigenvalueCorrection(data.layers, bases);
        data.feed(tap, 2, 1);
        for (int l = 0; l < data.layers.size(); l++) {
            TrackedLayer layer = data.layers.get(l);
            int p = layer.outFeatures(), a = layer.activationDim(), n = p * a;
            double[] fisher = new double[n * n];
            for (double[] g : data.sequenceGradients(l)) {
                double[] v = Dense.vec(g, p, a);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) fisher[i * n + j] += v[i] * v[j] / data.sequences();
            }
            KroneckerEigenbasis q = bases.get(l);
            double[] q2 = Dense.kron(q.activation().dense(), a, q.gradient().dense(), p);
            double[] expected = Dense.unvec(Dense.diagonalInBasis(fisher, q2, n), p, a);
            LambdaMatrix lambda = tap.lambdas().get(l);
            assertEquals(3, lambda.sequences());
            double err = Dense.relativeError(lambda.mean(), expected);
            System.out.printf("%s: Λ vs dense Fisher diagonal, relative error %.2e%n", layer.name(), err);
            assertEquals(0, err, 1e-5, layer.name()); // float32 projections and gradient; float64 squares
        }
    }

    @Test
    void diagonalIsTheMeanSquaredSequenceGradient() {
        Synthetic data = Synthetic.small(Synthetic.random("diagonal Fisher"));
        DiagonalFisher tap = new DiagonalFisher(data.layers);
        data.feed(tap, 3);
        for (int l = 0; l < data.layers.size(); l++) {
            double[] expected = new double[data.layers.get(l).outFeatures() * data.layers.get(l).activationDim()];
            for (double[] g : data.sequenceGradients(l))
                for (int i = 0; i < g.length; i++) expected[i] += g[i] * g[i] / data.sequences();
            assertEquals(0, Dense.relativeError(tap.lambdas().get(l).mean(), expected), 1e-6, data.layers.get(l).name());
        }
    }

    @Test
    void independentOfBatchSplit() {
        Synthetic data = Synthetic.small(Synthetic.random("eigenvalue correction batch split"));
        List<KroneckerEigenbasis> bases = eigenbases(data);
        EigenvalueCorrection whole = new EigenvalueCorrection(data.layers, bases), single = new EigenvalueCorrection(data.layers, bases);
        data.feed(whole, 3);
        data.feed(single, 1, 1, 1);
        for (int l = 0; l < data.layers.size(); l++)
            assertArrayEquals(whole.lambdas().get(l).sum(), single.lambdas().get(l).sum(), 0.0, "one sequence at a time, in order: bitwise equal");
    }

    static List<KroneckerEigenbasis> eigenbases(Synthetic data) {
        CovarianceTap tap = new CovarianceTap(data.layers);
        data.feed(tap, 3);
        List<KroneckerEigenbasis> out = new ArrayList<>();
        for (Covariances c : tap.covariances()) out.add(KroneckerEigenbasis.of(c));
        return out;
    }
}
