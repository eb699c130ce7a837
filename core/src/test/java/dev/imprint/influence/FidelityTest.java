package dev.imprint.influence;

import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.Eigenbasis;
import dev.imprint.curvature.FactorArguments;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.data.SequenceSource;
import dev.imprint.model.GPT2;
import dev.imprint.model.GPT2Config;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.Mat;
import dev.imprint.train.AdamW;
import dev.imprint.train.Schedule;
import dev.imprint.train.Trainer;
import dev.imprint.train.TrainingSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fidelity on a tiny trained transformer (SPEC §7, "exact reference"): each strategy's influence
 * against the exact damped block-diagonal GNH influence, with G_ℓ = (1/N) Σ_z g_z g_zᵀ formed from
 * the same sampled-label per-sequence gradients the fitting passes see, and (G_ℓ + λ_ℓ I)⁻¹ q_ℓ
 * solved through G_ℓ's own eigendecomposition. λ_ℓ = f·tr(G_ℓ)/D, which is exactly EK-FAC's
 * f·mean(Λ) (the trace does not depend on the basis), for the paper's f = 0.1 and for f = 1.
 */
class FidelityTest {
    static final long SEED = 11L;
    static final GPT2Config CONFIG = GPT2Config.of(2, 8, 2, 32, 16);
    /** The fitting set is much larger than a layer's D = P(M+1) ≈ 290, so the exact G_ℓ is full rank. */
    static final int FITTING = 2000, SEQUENCES = 240, QUERIES = 6;

    /** Sequences of short "phrases": a start token decides the next three, with noise. */
    static int[][] corpus(long seed) {
        Random r = new Random(seed);
        int[][] s = new int[FITTING][];
        for (int i = 0; i < FITTING; i++) {
            s[i] = new int[8 + r.nextInt(9)];
            for (int t = 0; t < s[i].length; t++)
                s[i][t] = t % 4 == 0 || r.nextInt(8) == 0 ? r.nextInt(32) : (s[i][t - 1] * 7 + 3) % 32;
        }
        return s;
    }

    static SequenceSource source(int[][] seqs) {
        return new SequenceSource() {
            public int size() {
                return seqs.length;
            }

            public SequenceBatch batch(int[] idx) {
                int[][] rows = new int[idx.length][];
                for (int i = 0; i < idx.length; i++) rows[i] = seqs[idx[i]];
                return SequenceBatch.pad(rows, 0);
            }
        };
    }

    @Test
    void ekfacAgreesWithTheExactBlockDiagonalGaussNewtonInfluence(@TempDir Path tmp) {
        int[][] seqs = corpus(SEED);
        SequenceSource src = source(seqs);
        int steps = 300;
        new Trainer(CONFIG, src, new TrainingSettings(steps, 16, new Schedule(1e-2f, 1e-3f, 20, steps), AdamW.Settings.defaults(),
                1f, SEED, 0, steps, 1, steps), tmp.resolve("model")).run(new Trainer.Listener() {});
        GPT2 model = new GPT2(Parameters.load(tmp.resolve("model/model.safetensors"), CONFIG), LayerSelection.MLP);
        List<TrackedLayer> layers = model.trackedLayers();
        int[] all = IntStream.range(0, FITTING).toArray();
        FittingPass pass = new FittingPass(model, src, all, 32, SEED, FittingPass.Labels.SAMPLED);

        // exact G_ℓ from per-sequence sampled-label gradients (the same labels the fitting passes draw)
        double[][] gram = new double[layers.size()][];
        for (TrackedLayer l : layers) gram[l.index()] = new double[dim(l) * dim(l)];
        pass.run((layer, batch, abar, ds) -> {
            for (double[] g : perSequence(layer, batch, abar, ds)) addOuter(gram[layer.index()], g, dim(layer));
        });
        Eigenbasis[] exactBasis = new Eigenbasis[layers.size()];
        double[] meanEigenvalue = new double[layers.size()];
        for (TrackedLayer l : layers) {
            int D = dim(l);
            double[] G = gram[l.index()];
            for (int i = 0; i < G.length; i++) G[i] /= FITTING;
            double trace = 0;
            for (int i = 0; i < D; i++) trace += G[i * D + i];
            exactBasis[l.index()] = Eigenbasis.of(G, D);
            meanEigenvalue[l.index()] = trace / D;
        }

        // queries: a phrase start as prompt, its continuation as completion
        Random r = new Random(SEED + 1);
        List<QueryGradient> queries = new ArrayList<>();
        for (int q = 0; q < QUERIES; q++) {
            int a = r.nextInt(32), b = (a * 7 + 3) % 32, c = (b * 7 + 3) % 32;
            queries.add(QueryGradient.compute(model, new Query("q" + q, "", "", new int[] {r.nextInt(32), a}, new int[] {b, c})));
        }
        List<double[][]> trainGrads = new ArrayList<>(); // [sequence][layer] flattened gradients, true labels
        for (int z = 0; z < SEQUENCES; z++) {
            double[][] g = new double[layers.size()][];
            SequenceBatch zb = SequenceBatch.of(seqs[z]);
            model.forward(zb);
            model.backward(Targets.nextTokens(zb), (layer, batch, abar, ds) -> g[layer.index()] = perSequence(layer, batch, abar, ds).getFirst());
            trainGrads.add(g);
        }
        StringBuilder report = new StringBuilder("fidelity vs exact damped block-diagonal GNH (fitted on " + FITTING + ", scored "
                + SEQUENCES + " sequences × " + QUERIES + " queries, seed " + SEED + "), mean (min) Pearson, mean Spearman per query:\n");
        Map<String, Double> pearson = new HashMap<>();
        for (double factor : new double[] {0.1, 1.0}) {
            // exact: (G_ℓ + λ_ℓ I)⁻¹ q_ℓ with λ_ℓ = factor · tr(G_ℓ)/D = factor · mean(Λ) of EK-FAC
            double[][] exact = new double[QUERIES][SEQUENCES];
            for (TrackedLayer l : layers) {
                double[] inverse = dampedInverse(exactBasis[l.index()], factor * meanEigenvalue[l.index()]);
                for (int q = 0; q < QUERIES; q++) {
                    double[] solved = multiply(inverse, flatten(queries.get(q).perLayer().get(l.index())), dim(l));
                    for (int z = 0; z < SEQUENCES; z++) exact[q][z] += dot(solved, trainGrads.get(z)[l.index()]);
                }
            }
            for (String name : List.of("ekfac", "kfac", "diagonal", "identity")) {
                Strategy strategy = Strategy.parse(name);
                FactorArguments args = new FactorArguments("tiny-trained", "in-memory", FITTING, SEED, layers);
                CurvatureFactors factors = CurvatureFactors.open(tmp.resolve("factors"), args);
                new FactorFitter(factors, FitProgress.NONE).fit(strategy, pass);
                Preconditioners pre = strategy.preconditioners(factors, new Damping.Relative(factor));
                InfluenceScorer scorer = new InfluenceScorer(model, queries.stream().map(qg -> qg.precondition(pre, layers)).toList());
                double[][] approx = new double[QUERIES][SEQUENCES];
                for (int z = 0; z < SEQUENCES; z++) {
                    double[][] sc = scorer.score(SequenceBatch.of(seqs[z]));
                    for (int q = 0; q < QUERIES; q++) approx[q][z] = sc[q][0];
                }
                double pSum = 0, sSum = 0, pMin = 1;
                for (int q = 0; q < QUERIES; q++) {
                    double p = Correlation.pearson(exact[q], approx[q]);
                    pSum += p;
                    pMin = Math.min(pMin, p);
                    sSum += Correlation.spearman(exact[q], approx[q]);
                }
                report.append(String.format("  damping %.1f·mean(Λ)  %-9s %.4f (%.4f)  %.4f%n", factor, name, pSum / QUERIES, pMin, sSum / QUERIES));
                pearson.put(name + "@" + factor, pSum / QUERIES);
            }
        }
        System.out.print(report);
        String text = report.toString();
        // at the paper's damping EK-FAC is far closer to the exact solve than the cheaper strategies
        assertTrue(pearson.get("ekfac@0.1") >= 0.88, text);
        assertTrue(pearson.get("ekfac@0.1") > pearson.get("diagonal@0.1") + 0.1, text);
        assertTrue(pearson.get("diagonal@0.1") > pearson.get("identity@0.1"), text);
        // with stronger damping the two solves agree closely (measured 0.950 with 2 threads)
        assertTrue(pearson.get("ekfac@1.0") >= 0.94, text);
    }

    static int dim(TrackedLayer l) {
        return l.outFeatures() * l.activationDim();
    }

    /** DW̄ = Σ_t Ds_t ā_tᵀ of each sequence of the batch, flattened row-major (P × A). */
    static List<double[]> perSequence(TrackedLayer layer, SequenceBatch batch, Mat abar, Mat ds) {
        List<double[]> out = new ArrayList<>();
        int T = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            Mat g = Mat.zeros(layer.outFeatures(), layer.activationDim());
            Gemm.mulTransA(g, ds.rows(b * T, T), abar.rows(b * T, T), false);
            out.add(flatten(g));
        }
        return out;
    }

    static double[] flatten(Mat m) {
        double[] v = new double[m.rows() * m.cols()];
        for (int i = 0; i < m.rows(); i++) for (int j = 0; j < m.cols(); j++) v[i * m.cols() + j] = m.get(i, j);
        return v;
    }

    static void addOuter(double[] G, double[] g, int D) {
        for (int i = 0; i < D; i++) {
            double gi = g[i];
            if (gi == 0) continue;
            for (int j = 0; j < D; j++) G[i * D + j] += gi * g[j];
        }
    }

    /** Q diag(1/(λ_i + λ)) Qᵀ as a dense D×D matrix. */
    static double[] dampedInverse(Eigenbasis e, double lambda) {
        int D = e.dim();
        double[] out = new double[D * D], Q = e.vectors();
        for (int k = 0; k < D; k++) {
            double w = 1 / (e.values()[k] + lambda);
            for (int i = 0; i < D; i++) {
                double qi = Q[i * D + k] * w;
                if (qi == 0) continue;
                for (int j = 0; j < D; j++) out[i * D + j] += qi * Q[j * D + k];
            }
        }
        return out;
    }

    static double[] multiply(double[] M, double[] v, int D) {
        double[] out = new double[D];
        for (int i = 0; i < D; i++) {
            double s = 0;
            for (int j = 0; j < D; j++) s += M[i * D + j] * v[j];
            out[i] = s;
        }
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
