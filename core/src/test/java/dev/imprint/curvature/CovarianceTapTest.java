package dev.imprint.curvature;

import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CovarianceTapTest {
    private static final double U = Math.ulp(1f) / 2; // float32 unit roundoff 2⁻²⁴

    @Test
    void sumsMatchFloat64WithinTheSequenceLengthBound() {
        Random rnd = Synthetic.random("covariance vs float64");
        int[] lengths = new int[12];
        for (int b = 0; b < lengths.length; b++) lengths[b] = 1 + rnd.nextInt(200);
        List<TrackedLayer> layers = List.of(new TrackedLayer(0, "h.0.mlp.c_fc", 24, 16, true), new TrackedLayer(1, "h.0.mlp.c_proj", 16, 24, false));
        Synthetic data = new Synthetic(layers, lengths, rnd);
        int flush = 256;
        CovarianceTap tap = new CovarianceTap(layers, 1, flush);
        data.feed(tap, 5, 4, 3);
        int longest = java.util.Arrays.stream(lengths).max().orElseThrow();
        // per element: |Ŝ − S| ≤ γ_R·Σ|x_i x_j|, γ_R = R·u/(1 − R·u), R ≤ flush + T − 1 tokens per float32 group (see CovarianceTap)
        int group = flush + longest - 1;
        double gamma = group * U / (1 - group * U);
        double worst = 0;
        for (int l = 0; l < layers.size(); l++) {
            Covariances c = tap.covariances().get(l);
            assertEquals(data.tokens(), c.activation().count(), "tokens counted");
            for (boolean activation : new boolean[] {true, false}) {
                double[] got = activation ? c.activation().sum() : c.gradient().sum();
                double[] exact = data.gramSum(l, activation), scale = data.absGramSum(l, activation);
                for (int i = 0; i < got.length; i++) {
                    double ratio = Math.abs(got[i] - exact[i]) / (scale[i] * U);
                    worst = Math.max(worst, ratio);
                    assertTrue(Math.abs(got[i] - exact[i]) <= gamma * scale[i],
                            layers.get(l).name() + (activation ? " A" : " S") + " entry " + i + ": error " + Math.abs(got[i] - exact[i]) + " > bound " + gamma * scale[i]);
                }
            }
        }
        System.out.printf("covariance: worst error %.2f u·Σ|x_i x_j| (bound %d u, the largest float32 group)%n", worst, group);
    }

    @Test
    void independentOfBatchSplit() {
        Synthetic data = Synthetic.small(Synthetic.random("covariance batch split"));
        for (int flush : new int[] {1, 4, CovarianceTap.DEFAULT_FLUSH_ROWS}) {
            List<Covariances> whole = covariances(data, flush, 3), single = covariances(data, flush, 1, 1, 1), mixed = covariances(data, flush, 1, 2);
            for (int l = 0; l < data.layers.size(); l++) {
                // float32 groups are cut by token count in sequence order, so the sums are bitwise equal
                assertArrayEquals(whole.get(l).activation().sum(), single.get(l).activation().sum(), 0.0, "flush " + flush);
                assertArrayEquals(whole.get(l).gradient().sum(), mixed.get(l).gradient().sum(), 0.0, "flush " + flush);
                assertEquals(10, whole.get(l).gradient().count());
            }
        }
    }

    @Test
    void meanDividesByTokens() {
        Synthetic data = Synthetic.small(Synthetic.random("covariance mean"));
        Covariance a = covariances(data, CovarianceTap.DEFAULT_FLUSH_ROWS, 3).getFirst().activation();
        for (int i = 0; i < a.sum().length; i++) assertEquals(a.sum()[i] / 10, a.mean()[i], 0.0);
        // the homogeneous coordinate: A[A-1, A-1] = mean of 1·1 over real tokens = 1
        int n = a.dim();
        assertEquals(1.0, a.mean()[n * n - 1], 0.0);
    }

    @Test
    void rejectsWrongShapesAndUntrackedLayers() {
        CovarianceTap tap = new CovarianceTap(Synthetic.LAYERS);
        SequenceBatch batch = SequenceBatch.pad(new int[][] {{1, 2}}, 2);
        TrackedLayer fc = Synthetic.LAYERS.getFirst();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tap.onLayer(fc, batch, Mat.zeros(2, 5), Mat.zeros(2, 4)));
        assertEquals("h.0.mlp.c_fc: activations are 2x5, expected 2x6", e.getMessage());
        TrackedLayer other = new TrackedLayer(7, "h.3.mlp.c_fc", 5, 4, true);
        assertThrows(IllegalArgumentException.class, () -> tap.onLayer(other, batch, Mat.zeros(2, 6), Mat.zeros(2, 4)));
    }

    private static List<Covariances> covariances(Synthetic data, int flush, int... batches) {
        CovarianceTap tap = new CovarianceTap(data.layers, 1, flush);
        data.feed(tap, batches);
        return tap.covariances();
    }
}
