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
import dev.imprint.model.LanguageModel;
import dev.imprint.model.Transformer;
import dev.imprint.model.ModelConfig;
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
import org.bytedeco.openblas.global.openblas;
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
 * Fidelity on tiny trained transformers (method §7, "exact reference"): each strategy's influence
 * against the exact damped block-diagonal GNH influence, with G_ℓ = (1/N) Σ_z g_z g_zᵀ formed from
 * the same sampled-label per-sequence gradients the fitting passes see, and (G_ℓ + λ_ℓ I)⁻¹ q_ℓ
 * solved through G_ℓ's own eigendecomposition. λ_ℓ = f·tr(G_ℓ)/D, which is exactly EK-FAC's
 * f·mean(Λ) (the trace does not depend on the basis), for the paper's f = 0.1 and for f = 1.
 *
 * <p>Three seeds give three corpora, models, fitting sets and label draws. The fitting set is about
 * 100 times a layer's D = P(M+1) ≈ 290, so that G_ℓ's own sampling noise is small. For seed 11,
 * EK-FAC's agreement at f = 0.1 measured 0.911, 0.920, 0.946, 0.895 and 0.948 with corpora (and
 * fitting sets) of 2,000, 10,000, 30,000, 60,000 and 120,000 sequences; beyond a few thousand it
 * moves with the trained model rather than with N. K-FAC, which shares EK-FAC's Kronecker
 * eigenbasis, lands within 0.01 of it throughout, so the gap to 1 is that basis.
 */
class FidelityTest {
    static final ModelConfig CONFIG = ModelConfig.gpt2(2, 8, 2, 32, 16);
    static final int VOCAB = 32, FITTING = 30_000, SEQUENCES = 240, QUERIES = 6, STEPS = 300;
    static final long[] SEEDS = {11, 12, 13};
    static final List<String> STRATEGIES = List.of("ekfac", "kfac", "diagonal", "identity");
    static final double[] DAMPING = {0.1, 1.0};

    /** Sequences of short "phrases": a start token decides the next three, with noise. */
    static int[][] corpus(long seed) {
        Random r = new Random(seed);
        int[][] s = new int[FITTING][];
        for (int i = 0; i < FITTING; i++) {
            s[i] = new int[8 + r.nextInt(9)];
            for (int t = 0; t < s[i].length; t++)
                s[i][t] = t % 4 == 0 || r.nextInt(8) == 0 ? r.nextInt(VOCAB) : (s[i][t - 1] * 7 + 3) % VOCAB;
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
        StringBuilder report = new StringBuilder("fidelity vs exact damped block-diagonal GNH (fitted on " + FITTING + ", scored "
                + SEQUENCES + " sequences × " + QUERIES + " queries): mean Pearson (lowest query) / mean Spearman\n");
        Map<String, Double> mean = new HashMap<>();
        Map<String, Double> lowestSeed = new HashMap<>();
        for (long seed : SEEDS) {
            Map<String, double[]> m = measure(seed, tmp.resolve("seed" + seed));
            report.append("  seed ").append(seed).append('\n');
            for (double f : DAMPING) {
                for (String name : STRATEGIES) {
                    String key = name + "@" + f;
                    double[] r = m.get(key);
                    report.append(String.format("    damping %.1f·mean(Λ)  %-9s %.4f (%.4f) / %.4f%n", f, name, r[0], r[1], r[2]));
                    mean.merge(key, r[0] / SEEDS.length, Double::sum);
                    lowestSeed.merge(key, r[0], Math::min);
                }
            }
        }
        report.append("  mean over seeds\n");
        for (double f : DAMPING)
            for (String name : STRATEGIES)
                report.append(String.format("    damping %.1f·mean(Λ)  %-9s %.4f%n", f, name, mean.get(name + "@" + f)));
        System.out.print(report);
        String text = report.toString();
        // at the paper's damping EK-FAC is far closer to the exact solve than the cheaper strategies
        // (measured 0.944, 0.958, 0.922 for the three seeds, mean 0.941, the same to four decimals with 1
        // and 2 threads and with 512-, 256- and 128-bit vectors (-XX:MaxVectorSize=32, 16): every seed is
        // fixed, and neither the thread count nor the vector width moves training, fitting or scoring)
        assertTrue(mean.get("ekfac@0.1") >= 0.93, text);
        assertTrue(lowestSeed.get("ekfac@0.1") >= 0.90, text);
        assertTrue(mean.get("ekfac@0.1") > mean.get("diagonal@0.1") + 0.1, text);
        assertTrue(mean.get("diagonal@0.1") > mean.get("identity@0.1"), text);
        // with stronger damping the two solves agree more closely (measured mean 0.966)
        assertTrue(mean.get("ekfac@1.0") >= 0.95, text);
    }

    /**
     * Trains a model on one seed's corpus, forms the exact G_ℓ on the fitting set, and returns per
     * "strategy@damping" the mean Pearson over queries, the lowest query's Pearson, and the mean Spearman.
     */
    static Map<String, double[]> measure(long seed, Path dir) {
        int[][] seqs = corpus(seed);
        SequenceSource src = source(seqs);
        new Trainer(CONFIG, src, new TrainingSettings(STEPS, 16, new Schedule(1e-2f, 1e-3f, 20, STEPS), AdamW.Settings.defaults(),
                1f, seed, 0, STEPS, 1, STEPS), dir.resolve("model")).run(new Trainer.Listener() {});
        LanguageModel model = new Transformer(Parameters.load(dir.resolve("model"), CONFIG), LayerSelection.MLP);
        List<TrackedLayer> layers = model.trackedLayers();
        int[] all = IntStream.range(0, FITTING).toArray();
        FittingPass pass = new FittingPass(model, src, all, 32, seed, FittingPass.Labels.SAMPLED);

        // exact G_ℓ from per-sequence sampled-label gradients (the same labels the fitting passes draw)
        double[][] gram = new double[layers.size()][];
        for (TrackedLayer l : layers) gram[l.index()] = new double[dim(l) * dim(l)];
        pass.run((layer, batch, abar, ds) -> {
            List<double[]> gs = perSequence(layer, batch, abar, ds);
            int D = dim(layer);
            double[] x = new double[gs.size() * D];
            for (int b = 0; b < gs.size(); b++) System.arraycopy(gs.get(b), 0, x, b * D, D);
            // G += XᵀX in float64 (upper triangle, row-major)
            openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasUpper, openblas.CblasTrans, D, gs.size(), 1.0, x, D, 1.0, gram[layer.index()], D);
        });
        Eigenbasis[] exactBasis = new Eigenbasis[layers.size()];
        double[] meanEigenvalue = new double[layers.size()];
        for (TrackedLayer l : layers) {
            int D = dim(l);
            double[] G = gram[l.index()];
            for (int i = 0; i < D; i++) for (int j = 0; j < i; j++) G[i * D + j] = G[j * D + i];
            for (int i = 0; i < G.length; i++) G[i] /= FITTING;
            double trace = 0;
            for (int i = 0; i < D; i++) trace += G[i * D + i];
            exactBasis[l.index()] = Eigenbasis.of(G, D);
            meanEigenvalue[l.index()] = trace / D;
        }

        // queries: a phrase start as prompt, its continuation as completion
        Random r = new Random(seed + 1);
        List<QueryGradient> queries = new ArrayList<>();
        for (int q = 0; q < QUERIES; q++) {
            int a = r.nextInt(VOCAB), b = (a * 7 + 3) % VOCAB, c = (b * 7 + 3) % VOCAB;
            queries.add(QueryGradient.compute(model, new Query("q" + q, "", "", new int[] {r.nextInt(VOCAB), a}, new int[] {b, c})));
        }
        List<double[][]> trainGrads = new ArrayList<>(); // [sequence][layer] flattened gradients, true labels
        for (int z = 0; z < SEQUENCES; z++) {
            double[][] g = new double[layers.size()][];
            SequenceBatch zb = SequenceBatch.of(seqs[z]);
            model.forward(zb);
            model.backward(Targets.nextTokens(zb), (layer, batch, abar, ds) -> g[layer.index()] = perSequence(layer, batch, abar, ds).getFirst());
            trainGrads.add(g);
        }
        Map<String, double[]> out = new HashMap<>();
        for (double factor : DAMPING) {
            // exact: (G_ℓ + λ_ℓ I)⁻¹ q_ℓ with λ_ℓ = factor · tr(G_ℓ)/D = factor · mean(Λ) of EK-FAC
            double[][] exact = new double[QUERIES][SEQUENCES];
            for (TrackedLayer l : layers) {
                for (int q = 0; q < QUERIES; q++) {
                    double[] solved = dampedSolve(exactBasis[l.index()], factor * meanEigenvalue[l.index()], flatten(queries.get(q).perLayer().get(l.index())));
                    for (int z = 0; z < SEQUENCES; z++) exact[q][z] += dot(solved, trainGrads.get(z)[l.index()]);
                }
            }
            for (String name : STRATEGIES) {
                Strategy strategy = Strategy.parse(name);
                FactorArguments args = new FactorArguments("tiny-trained-" + seed, "in-memory", FITTING, seed, layers);
                CurvatureFactors factors = CurvatureFactors.open(dir.resolve("factors"), args);
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
                out.put(name + "@" + factor, new double[] {pSum / QUERIES, pMin, sSum / QUERIES});
            }
        }
        return out;
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

    /** (G + λI)⁻¹ v = Q diag(1/(λ_i + λ)) Qᵀ v, through G's eigendecomposition. */
    static double[] dampedSolve(Eigenbasis e, double lambda, double[] v) {
        int D = e.dim();
        double[] Q = e.vectors(), coefficients = new double[D], out = new double[D];
        for (int i = 0; i < D; i++) for (int k = 0; k < D; k++) coefficients[k] += Q[i * D + k] * v[i];
        for (int k = 0; k < D; k++) coefficients[k] /= e.values()[k] + lambda;
        for (int i = 0; i < D; i++) for (int k = 0; k < D; k++) out[i] += Q[i * D + k] * coefficients[k];
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
