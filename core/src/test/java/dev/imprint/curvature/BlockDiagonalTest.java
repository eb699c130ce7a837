package dev.imprint.curvature;

import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Block-diagonal factors (method §3) against dense formulas, and fitting in layer groups against one pass. */
class BlockDiagonalTest {
    @TempDir
    Path dir;

    @Test
    void blocksCoverTheIndicesInOrder() {
        for (int n : new int[] {1, 3, 17, 1025})
            for (int o = 1; o <= Math.min(n, 9); o++) {
                Blocks b = new Blocks(n, o);
                int next = 0;
                long packed = 0;
                for (int k = 0; k < o; k++) {
                    assertEquals(next, b.start(k), n + "/" + o);
                    assertTrue(b.size(k) == n / o || b.size(k) == n / o + 1);
                    assertTrue(k == 0 || b.size(k) <= b.size(k - 1), "larger blocks first");
                    assertEquals(packed, b.packedStart(k));
                    next += b.size(k);
                    packed += (long) b.size(k) * b.size(k);
                }
                assertEquals(n, next);
                assertEquals(packed, b.packedLength());
            }
        assertThrows(IllegalArgumentException.class, () -> new Blocks(3, 4));
        assertThrows(IllegalArgumentException.class, () -> new Blocks(3, 0));
    }

    /** The four block-wise products against the dense Q (zero off the blocks), over awkward sizes. */
    @Test
    void blockwiseProductsEqualDenseProducts() {
        Random rnd = Synthetic.random("block-diagonal products");
        for (int n : new int[] {1, 3, 17, 130})
            for (int o : new int[] {1, 2, 3, 7}) {
                if (o > n) continue;
                Blocks blocks = new Blocks(n, o);
                float[] q = new float[blocks.packedArrayLength()];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                FactorBasis basis = new FactorBasis(blocks, q, new double[n]);
                double[] dense = basis.dense();
                int r = 1 + rnd.nextInt(9);
                Mat x = random(rnd, r, n), y = random(rnd, n, r);
                Mat out = Mat.zeros(r, n), outT = Mat.zeros(n, r);
                String what = n + "x" + n + " in " + o + " blocks";
                basis.times(out, x);
                assertClose(mul(x, false, dense, false, r, n, n), out, what + ": x Q");
                basis.timesTransposed(out, x);
                assertClose(mul(x, false, dense, true, r, n, n), out, what + ": x Qᵀ");
                basis.transposeTimes(outT, y);
                assertClose(mulLeft(dense, true, y, n, r), outT, what + ": Qᵀ y");
                basis.leftTimes(outT, y);
                assertClose(mulLeft(dense, false, y, n, r), outT, what + ": Q y");
            }
    }

    /** Each block's covariance sum is the dense sum's diagonal block (float64 reference). */
    @Test
    void blockCovariancesAreTheDiagonalBlocksOfTheDenseSum() {
        Synthetic data = Synthetic.small(Synthetic.random("block covariances"));
        for (int o : new int[] {2, 3, 4}) {
            CovarianceTap tap = new CovarianceTap(data.layers, o);
            data.feed(tap, 2, 1);
            for (int l = 0; l < data.layers.size(); l++)
                for (boolean activation : new boolean[] {true, false}) {
                    Covariances c = tap.covariances().get(l);
                    Covariance got = activation ? c.activation() : c.gradient();
                    double[] dense = data.gramSum(l, activation);
                    int n = got.dim();
                    Blocks b = got.blocks();
                    for (int k = 0; k < b.count(); k++)
                        for (int i = 0; i < b.size(k); i++)
                            for (int j = 0; j < b.size(k); j++) {
                                double want = dense[(b.start(k) + i) * n + b.start(k) + j];
                                double have = got.sum()[(int) b.packedStart(k) + i * b.size(k) + j];
                                assertEquals(want, have, 1e-5 * (1 + Math.abs(want)), data.layers.get(l).name() + " block " + k);
                            }
                }
        }
    }

    /**
     * K-FAC with block-diagonal factors solves (blockdiag(A) ⊗ blockdiag(S) + λI)⁻¹ V: the dense
     * Kronecker product of the factors with their off-block entries zeroed, solved densely.
     */
    @Test
    void blockDiagonalKfacSolvesTheBlockDiagonalKroneckerProduct() {
        Random rnd = Synthetic.random("block-diagonal K-FAC vs dense");
        Synthetic data = Synthetic.small(rnd);
        for (int o : new int[] {2, 3}) {
            CovarianceTap tap = new CovarianceTap(data.layers, o);
            data.feed(tap, 3);
            for (int l = 0; l < data.layers.size(); l++) {
                TrackedLayer layer = data.layers.get(l);
                int p = layer.outFeatures(), a = layer.activationDim();
                Covariances c = tap.covariances().get(l);
                KroneckerEigenbasis q = KroneckerEigenbasis.of(c);
                double lambda = Damping.paperDefault().lambda(q.kroneckerEigenvalues());
                Preconditioner kfac = new EigenbasisPreconditioner(q, new Damping.Absolute(lambda).reciprocal(q.kroneckerEigenvalues(), layer.name()));
                double[] g = Dense.kron(unpack(c.activation()), a, unpack(c.gradient()), p);
                double[] v = Synthetic.randomMatrix(rnd, p, a);
                double[] expected = Dense.unvec(Dense.solveDamped(g, lambda, Dense.vec(v, p, a), p * a), p, a);
                double[] got32 = Dense.toDoubles(kfac.precondition(PreconditionerTest.floats(v, p, a)).data());
                assertEquals(0, Dense.relativeError(kfac.precondition(v), expected), 1e-6, layer.name() + " O=" + o + " float64");
                assertEquals(0, Dense.relativeError(got32, expected), 1e-5, layer.name() + " O=" + o + " float32");
            }
        }
    }

    /** Fitting in layer groups (one pass per group) writes the same bytes as one pass over every layer. */
    @Test
    void layerGroupsChangeNothingButThePassCount() throws IOException {
        Synthetic data = Synthetic.small(Synthetic.random("layer groups"));
        for (int o : new int[] {1, 2}) {
            FactorArguments args = new FactorArguments("model", "store", 3, 1, data.layers, o);
            Path whole = dir.resolve("whole-" + o), grouped = dir.resolve("grouped-" + o);
            int[] runs = new int[2];
            for (Strategy s : List.of(new Strategy.Ekfac(), new Strategy.Diagonal())) {
                new FactorFitter(CurvatureFactors.open(whole, args), FitProgress.NONE).fit(s, tap -> { runs[0]++; data.feed(tap, 2, 1); });
                new FactorFitter(CurvatureFactors.open(grouped, args), FitProgress.NONE, 1).fit(s, tap -> { runs[1]++; data.feed(tap, 1, 2); });
            }
            assertEquals(3, runs[0], "covariance, correction, diagonal: one pass each");
            assertEquals(6, runs[1], "one pass per layer when a budget of 1 byte puts each layer alone");
            try (var files = Files.list(whole)) {
                for (Path f : files.toList())
                    assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(grouped.resolve(f.getFileName())), f.getFileName() + " O=" + o);
            }
        }
    }

    @Test
    void groupsFillTheBudgetInOrder() {
        List<TrackedLayer> layers = List.of(new TrackedLayer(0, "a", 4, 4, false), new TrackedLayer(1, "b", 4, 4, false),
                new TrackedLayer(2, "c", 4, 4, false), new TrackedLayer(3, "d", 8, 8, false));
        List<List<TrackedLayer>> g = FactorFitter.groups(layers, l -> (long) l.activationDim(), 9);
        assertEquals(List.of(List.of(layers.get(0), layers.get(1)), List.of(layers.get(2)), List.of(layers.get(3))), g);
    }

    private static double[] unpack(Covariance c) {
        Blocks b = c.blocks();
        int n = b.dim();
        double[] out = new double[n * n], mean = c.mean();
        for (int k = 0; k < b.count(); k++)
            for (int i = 0; i < b.size(k); i++)
                for (int j = 0; j < b.size(k); j++)
                    out[(b.start(k) + i) * n + b.start(k) + j] = mean[(int) b.packedStart(k) + i * b.size(k) + j];
        return out;
    }

    private static Mat random(Random rnd, int rows, int cols) {
        Mat m = Mat.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) rnd.nextGaussian();
        return m;
    }

    /** op(x) (r × k) · op(y) (k × c) in float64, x a Mat. */
    private static double[] mul(Mat x, boolean tx, double[] y, boolean ty, int r, int k, int c) {
        double[] out = new double[r * c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double) x.get(i, t) * (ty ? y[j * k + t] : y[t * c + j]);
                out[i * c + j] = s;
            }
        return out;
    }

    /** op(q) (n × n) · y (n × c) in float64. */
    private static double[] mulLeft(double[] q, boolean tq, Mat y, int n, int c) {
        double[] out = new double[n * c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) {
                double s = 0;
                for (int t = 0; t < n; t++) s += (tq ? q[t * n + i] : q[i * n + t]) * y.get(t, j);
                out[i * c + j] = s;
            }
        return out;
    }

    private static void assertClose(double[] expected, Mat got, String what) {
        double[] g = new double[got.rows() * got.cols()];
        for (int i = 0; i < got.rows(); i++) for (int j = 0; j < got.cols(); j++) g[i * got.cols() + j] = got.get(i, j);
        assertEquals(0, Dense.relativeError(g, expected), 1e-5, what);
    }
}
