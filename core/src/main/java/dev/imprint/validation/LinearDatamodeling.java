package dev.imprint.validation;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.influence.Correlation;
import dev.imprint.influence.Query;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.JsonFiles;
import dev.imprint.io.Sha256;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.Tokenizer;
import dev.imprint.model.Transformer;
import dev.imprint.train.Trainer;
import dev.imprint.train.TrainingSettings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The linear datamodeling score (method §7.1): how well an attribution's scores predict what
 * retraining does. M subsets of a fraction of the model's training split are drawn (seeded); the
 * model is retrained from scratch on each with its own recipe (same steps, schedule and seed
 * schedule; S seeds per subset, averaged); each query's measurement log p(completion | prompt) is
 * taken on every retrained model. An attribution predicts subset S_j's measurement by the sum of
 * its scores over S_j; its LDS for a query is the Spearman correlation, over the M subsets, of
 * predicted and actual, and the LDS is the mean over queries, with a bootstrap 95% interval over
 * queries.
 *
 * <p>Every retrained model and every attribution's scores are stages on disk under a stages folder,
 * each named by the fingerprint of what it depends on, so that a killed run resumes (a retraining
 * from its last checkpoint) and a second run with more subsets or other queries reuses what it can.
 */
public final class LinearDatamodeling {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LinearDatamodeling() {}

    /**
     * What an LDS run does.
     *
     * @param subsets          M, the retrained subsets (at least 2)
     * @param seeds            S, retrainings per subset with seeds shifted by 0 … S − 1, their measurements averaged
     * @param fraction         the share of the training split in each subset, in (0, 1)
     * @param seed             the subsets' draw and the random baseline
     * @param bootstrapSamples resamples of the queries for the interval
     */
    public record Settings(int subsets, int seeds, double fraction, long seed, int bootstrapSamples) {
        public Settings {
            if (subsets < 2) throw new InputException("--subsets must be at least 2 (a correlation over subsets), not " + subsets);
            if (seeds < 1) throw new InputException("--seeds must be at least 1, not " + seeds);
            if (!(fraction > 0 && fraction < 1)) throw new InputException("--fraction must lie in (0, 1), not " + fraction);
            if (bootstrapSamples < 1) throw new IllegalArgumentException("bootstrap samples " + bootstrapSamples + " must be at least 1");
        }

    }

    /**
     * One attribution's LDS.
     *
     * @param attribution its name
     * @param mean        mean over queries of the per-query Spearman correlation
     * @param low         2.5th percentile of the bootstrap means
     * @param high        97.5th percentile
     * @param perQuery    the per-query correlations, in query order (0 where a side is constant)
     * @param seconds     time to compute its scores in this run (0 when they were on disk)
     */
    public record Estimate(String attribution, double mean, double low, double high, double[] perQuery, double seconds) {}

    /**
     * A finished LDS run.
     *
     * @param settings          what it did
     * @param trainingSequences the model's training split
     * @param subsetSize        sequences per subset
     * @param queries           the queries
     * @param logProbs          each query's measurement on the model itself
     * @param actual            actual[j][q]: query q's measurement after retraining on subset j (mean over seeds)
     * @param predicted         per attribution, predicted[j][q] = Σ_{i ∈ S_j} score_q(i)
     * @param estimates         per attribution, in the order asked
     * @param retrainSeconds    time spent retraining in this run
     * @param retrainedNow      retrainings run (or finished) in this run; the others were on disk
     */
    public record Result(Settings settings, int trainingSequences, int subsetSize, List<Query> queries, double[] logProbs, double[][] actual,
                         Map<String, double[][]> predicted, List<Estimate> estimates, double retrainSeconds, int retrainedNow) {}

    /**
     * Runs (or resumes) LDS for {@code attributions} on the model and store of {@code in}, trained by
     * {@code recipe}, with stages under {@code stages}.
     */
    public static Result run(Attribution.Inputs in, TrainingRecipe recipe, ModelConfig config, List<Attribution> attributions, Settings settings,
                             Path stages, Progress progress) {
        if (attributions.isEmpty()) throw new IllegalArgumentException("no attributions to compare");
        SequenceStore store = in.store();
        Trainer.Split split = recipe.split(store.size());
        int[][] subsets = subsets(split.trainSorted(), settings.subsets(), settings.fraction(), settings.seed());
        double[] logProbs = logProbs(in.model(), in.queries());

        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<String, float[][]> scores = Attribution.scoresOf(attributions, in, stages, progress, seconds);

        long t0 = System.nanoTime();
        int M = settings.subsets(), S = settings.seeds(), Q = in.queries().size();
        double[][] actual = new double[M][Q];
        int[] retrained = {0};
        progress.start("Retraining on " + M + " subsets × " + S + (S == 1 ? " seed" : " seeds"), (long) M * S * recipe.steps(), Progress.Unit.ITEMS);
        try {
            for (int j = 0; j < M; j++)
                for (int k = 0; k < S; k++) {
                    Parameters p = retrained(recipe, config, store, split.restrictedTo(subsets[j]), j, k, stages, progress, retrained);
                    double[] m = logProbs(new Transformer(p, LayerSelection.MLP), in.queries());
                    for (int q = 0; q < Q; q++) actual[j][q] += m[q] / S;
                }
        } finally {
            progress.done();
        }
        double retrainSeconds = (System.nanoTime() - t0) / 1e9;

        Map<String, double[][]> predicted = new LinkedHashMap<>();
        List<Estimate> estimates = new ArrayList<>();
        for (Attribution a : attributions) {
            double[][] pred = predicted(scores.get(a.name()), subsets);
            predicted.put(a.name(), pred);
            double[] perQuery = perQuery(pred, actual);
            double[] ci = bootstrap(perQuery, settings.bootstrapSamples(), settings.seed());
            estimates.add(new Estimate(a.name(), mean(perQuery), ci[0], ci[1], perQuery, seconds.get(a.name())));
        }
        return new Result(settings, split.train().length, subsets[0].length, in.queries(), logProbs, actual, predicted, List.copyOf(estimates),
                retrainSeconds, retrained[0]);
    }

    /**
     * M subsets of {@code round(fraction · n)} sequences of {@code train} (ascending), each ascending;
     * subset j depends only on ({@code seed}, j), so asking for more subsets keeps the first ones.
     */
    public static int[][] subsets(int[] train, int count, double fraction, long seed) {
        int n = train.length, size = (int) Math.round(fraction * n);
        if (size < 1 || size >= n)
            throw new InputException("a fraction of " + fraction + " of " + n + " training sequences leaves " + size + " per subset; it needs at least 1 and fewer than all");
        int[][] out = new int[count][];
        for (int j = 0; j < count; j++) {
            int[] p = train.clone();
            SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + j);
            for (int i = 0; i < size; i++) { // partial Fisher–Yates: the first size entries are a uniform sample
                int r = i + rng.nextInt(n - i), t = p[i];
                p[i] = p[r];
                p[r] = t;
            }
            out[j] = Arrays.copyOf(p, size);
            Arrays.sort(out[j]);
        }
        return out;
    }

    /** predicted[j][q] = Σ_{i ∈ subsets[j]} scores[q][i], in double. */
    public static double[][] predicted(float[][] scores, int[][] subsets) {
        double[][] out = new double[subsets.length][scores.length];
        for (int j = 0; j < subsets.length; j++)
            for (int q = 0; q < scores.length; q++) {
                double s = 0;
                for (int i : subsets[j]) s += scores[q][i];
                out[j][q] = s;
            }
        return out;
    }

    /**
     * The per-query LDS: Spearman's ρ over subsets between predicted[·][q] and actual[·][q]; 0 when
     * either is constant over the subsets (no ranking to agree with).
     */
    public static double[] perQuery(double[][] predicted, double[][] actual) {
        int M = actual.length, Q = actual[0].length;
        double[] out = new double[Q];
        for (int q = 0; q < Q; q++) {
            double[] p = new double[M], a = new double[M];
            for (int j = 0; j < M; j++) {
                p[j] = predicted[j][q];
                a[j] = actual[j][q];
            }
            double rho = Correlation.spearman(p, a);
            out[q] = Double.isNaN(rho) ? 0 : rho;
        }
        return out;
    }

    /** The 2.5th and 97.5th percentiles of the mean of {@code values} resampled with replacement {@code samples} times (seeded). */
    public static double[] bootstrap(double[] values, int samples, long seed) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        double[] means = new double[samples];
        for (int b = 0; b < samples; b++) {
            double s = 0;
            for (int i = 0; i < values.length; i++) s += values[rng.nextInt(values.length)];
            means[b] = s / values.length;
        }
        Arrays.sort(means);
        return new double[] {means[(int) Math.floor(0.025 * (samples - 1))], means[(int) Math.ceil(0.975 * (samples - 1))]};
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    /** log p(completion | prompt) of each query under {@code model} (forward passes only). */
    public static double[] logProbs(LanguageModel model, List<Query> queries) {
        double[] out = new double[queries.size()];
        for (int q = 0; q < out.length; q++) {
            Query query = queries.get(q);
            SequenceBatch batch = SequenceBatch.of(query.tokens());
            model.forward(batch);
            out[q] = -model.loss(Targets.completion(batch, new int[] {query.completionTokens().length}));
        }
        return out;
    }

    /**
     * Queries made of the first {@code count} held-out sequences (those the model never trained on):
     * the first half of each sequence's tokens the prompt, the second half the completion.
     */
    public static List<Query> heldOutQueries(SequenceStore store, int[] heldOut, int count, Tokenizer tokenizer) {
        List<Query> out = new ArrayList<>();
        for (int i = 0; i < heldOut.length && out.size() < count; i++) {
            int[] t = store.sequence(heldOut[i]);
            if (t.length < 2) continue;
            int half = t.length / 2;
            int[] prompt = Arrays.copyOf(t, half), completion = Arrays.copyOfRange(t, half, t.length);
            out.add(new Query("held-out-" + heldOut[i], tokenizer.decode(prompt), tokenizer.decode(completion), prompt, completion));
        }
        if (out.isEmpty()) throw new InputException("the model's held-out split has no sequence of two tokens or more to query");
        return out;
    }

    /**
     * The model retrained on {@code split} with seed offset k: read from its stage folder when a
     * finished retraining with the same fingerprint is there, else trained (resuming from the
     * folder's checkpoint), recorded as finished, and its checkpoint removed.
     */
    private static Parameters retrained(TrainingRecipe recipe, ModelConfig config, SequenceStore store, Trainer.Split split, int j, int k,
                                        Path stages, Progress progress, int[] retrained) {
        TrainingSettings settings = recipe.settings(k);
        String fingerprint = Sha256.ofText(config + "|" + settings + "|" + store.fingerprint() + "|" + Arrays.toString(split.train())
                + "|" + Arrays.toString(split.heldOut()));
        Path dir = stages.resolve("retrain").resolve(String.format("subset-%03d-seed-%d-%s", j, k, fingerprint.substring(0, 12)));
        Path done = dir.resolve("retrained.json");
        if (Files.exists(done) && fingerprint.equals(JsonFiles.readObject(done).path("fingerprint").asText()) && Files.exists(dir.resolve("model.safetensors"))) {
            progress.step(recipe.steps());
            return Parameters.load(dir, config);
        }
        try {
            Files.createDirectories(dir);
            long t0 = System.nanoTime();
            new Trainer(config, store, settings, dir, split).run(new Trainer.Listener() {
                @Override
                public void onStart(int fromStep, int totalSteps) {
                    progress.step(fromStep);
                }

                @Override
                public void onStep(int step, double loss, float lr, long tokens, double tokensPerSecond) {
                    progress.step(1);
                }
            });
            var record = JSON.createObjectNode().put("fingerprint", fingerprint).put("subset", j).put("seed_offset", k)
                    .put("sequences", split.train().length).put("seconds", (System.nanoTime() - t0) / 1e9);
            AtomicFiles.writeString(done, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(record));
            AtomicFiles.deleteTree(dir.resolve("checkpoint"));
            retrained[0]++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + " (" + e.getMessage() + ")", e);
        }
        return Parameters.load(dir, config);
    }
}
