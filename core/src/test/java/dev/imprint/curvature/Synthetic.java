package dev.imprint.curvature;

import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Synthetic tap inputs with float64 oracles. For every layer and sequence b: ā_b (T_b × A, last
 * column 1 when the layer has a bias) and Ds_b (T_b × P), random float32 values, so the float and
 * double computations see identical inputs. Batches pad sequences to their longest plus one row,
 * so every batch has padding rows (zero in both matrices, as the model guarantees).
 */
final class Synthetic {
    /** Two layers, M=5 P=4 with bias (A=6), and M=4 P=5 without (A=4). */
    static final List<TrackedLayer> LAYERS = List.of(
            new TrackedLayer(0, "h.0.mlp.c_fc", 5, 4, true),
            new TrackedLayer(1, "h.0.mlp.c_proj", 4, 5, false));

    final List<TrackedLayer> layers;
    final int[] lengths;               // T_b per sequence
    final float[][][] activations;     // [layer][sequence] (T_b, A) row-major
    final float[][][] outputGradients; // [layer][sequence] (T_b, P) row-major

    Synthetic(List<TrackedLayer> layers, int[] lengths, Random rnd) {
        this.layers = layers;
        this.lengths = lengths;
        activations = new float[layers.size()][lengths.length][];
        outputGradients = new float[layers.size()][lengths.length][];
        for (int l = 0; l < layers.size(); l++) {
            TrackedLayer layer = layers.get(l);
            int a = layer.activationDim(), p = layer.outFeatures();
            for (int b = 0; b < lengths.length; b++) {
                float[] x = new float[lengths[b] * a], d = new float[lengths[b] * p];
                for (int t = 0; t < lengths[b]; t++) {
                    for (int j = 0; j < a; j++) x[t * a + j] = (float) rnd.nextGaussian();
                    if (layer.bias()) x[t * a + a - 1] = 1f; // the homogeneous coordinate of ā = (a, 1)
                    for (int i = 0; i < p; i++) d[t * p + i] = (float) (0.1 * rnd.nextGaussian());
                }
                activations[l][b] = x;
                outputGradients[l][b] = d;
            }
        }
    }

    /**
     * The seeded generator of a test: a fixed seed per test (its name's hash), so that every run and
     * machine draws the same data; another can be tried with -Dimprint.test.seed, and is printed.
     */
    static Random random(String test) {
        long seed = Long.getLong("imprint.test.seed", test.hashCode());
        System.out.println(test + ": seed " + seed + " (rerun with -Dimprint.test.seed=" + seed + ")");
        return new Random(seed);
    }

    static Synthetic small(Random rnd) {
        return new Synthetic(LAYERS, new int[] {3, 5, 2}, rnd);
    }

    int sequences() {
        return lengths.length;
    }

    /** Feeds all sequences, in order, as batches of the given sizes; layers last to first, as backward does. */
    void feed(GradientTap tap, int... batchSizes) {
        if (Arrays.stream(batchSizes).sum() != sequences()) throw new IllegalArgumentException("batch sizes " + Arrays.toString(batchSizes));
        int first = 0;
        for (int size : batchSizes) {
            int[][] tokens = new int[size][];
            for (int b = 0; b < size; b++) tokens[b] = new int[lengths[first + b]];
            int longest = Arrays.stream(tokens).mapToInt(t -> t.length).max().orElseThrow();
            SequenceBatch batch = SequenceBatch.pad(tokens, longest + 1);
            for (int l = layers.size() - 1; l >= 0; l--) {
                TrackedLayer layer = layers.get(l);
                int a = layer.activationDim(), p = layer.outFeatures(), T = batch.seqLen();
                Mat x = Mat.zeros(size * T, a), d = Mat.zeros(size * T, p);
                for (int b = 0; b < size; b++) {
                    System.arraycopy(activations[l][first + b], 0, x.data(), b * T * a, lengths[first + b] * a);
                    System.arraycopy(outputGradients[l][first + b], 0, d.data(), b * T * p, lengths[first + b] * p);
                }
                tap.onLayer(layer, batch, x, d);
            }
            first += size;
        }
    }

    /** A TapPass over all sequences in batches of the given sizes. */
    TapPass pass(int... batchSizes) {
        return tap -> feed(tap, batchSizes);
    }

    int tokens() {
        return Arrays.stream(lengths).sum();
    }

    // ---- float64 oracles ----

    /** Σ_b Σ_t x_t x_tᵀ in float64 for x = ā (activation) or Ds. */
    double[] gramSum(int layer, boolean activation) {
        return gramSum(layer, activation, false);
    }

    /** Σ_b Σ_t |x_ti x_tj|: the scale of the covariance rounding error bound. */
    double[] absGramSum(int layer, boolean activation) {
        return gramSum(layer, activation, true);
    }

    private double[] gramSum(int layer, boolean activation, boolean abs) {
        float[][] rows = activation ? activations[layer] : outputGradients[layer];
        int n = activation ? layers.get(layer).activationDim() : layers.get(layer).outFeatures();
        double[] sum = new double[n * n];
        for (int b = 0; b < sequences(); b++)
            for (int t = 0; t < lengths[b]; t++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        double x = (double) rows[b][t * n + i] * rows[b][t * n + j];
                        sum[i * n + j] += abs ? Math.abs(x) : x;
                    }
        return sum;
    }

    /** DW̄_b = Σ_t Ds_t ā_tᵀ in float64, (P, A) row-major (Eq. 26). */
    double[] sequenceGradient(int layer, int b) {
        int a = layers.get(layer).activationDim(), p = layers.get(layer).outFeatures();
        double[] g = new double[p * a];
        for (int t = 0; t < lengths[b]; t++)
            for (int i = 0; i < p; i++)
                for (int j = 0; j < a; j++) g[i * a + j] += (double) outputGradients[layer][b][t * p + i] * activations[layer][b][t * a + j];
        return g;
    }

    List<double[]> sequenceGradients(int layer) {
        List<double[]> out = new ArrayList<>();
        for (int b = 0; b < sequences(); b++) out.add(sequenceGradient(layer, b));
        return out;
    }

    /** A (P, A) matrix from a random generator. */
    static double[] randomMatrix(Random rnd, int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
