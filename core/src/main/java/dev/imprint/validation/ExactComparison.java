package dev.imprint.validation;

import dev.imprint.data.Progress;
import dev.imprint.influence.Correlation;
import dev.imprint.influence.Query;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Each attribution against the exact damped block-diagonal GNH influence of the same fitting
 * sample (method §7.2): per query, the Pearson and Spearman correlations over every sequence of
 * the store between the attribution's scores and the exact ones; reported as the mean over
 * queries and the lowest query.
 */
public final class ExactComparison {
    private ExactComparison() {}

    /**
     * One attribution's agreement with the exact solve.
     *
     * @param attribution its name
     * @param pearson     mean over queries of Pearson's r with the exact scores
     * @param spearman    mean over queries of Spearman's ρ
     * @param lowest      the lowest query's Pearson's r
     * @param perQuery    each query's Pearson's r, in query order
     * @param seconds     time to compute its scores in this run (0 when they were on disk)
     */
    public record Agreement(String attribution, double pearson, double spearman, double lowest, double[] perQuery, double seconds) {}

    /**
     * A finished comparison.
     *
     * @param fitting      N, the fitting sample both the exact GNH and the strategies were fitted on
     * @param sequences    the sequences scored (the whole store)
     * @param queries      the queries
     * @param exact        the exact scores, exact[q][i]
     * @param scores       per attribution, its scores
     * @param agreements   per attribution, in the order asked
     * @param exactSeconds time of the exact scores in this run (0 when they were on disk)
     * @param exactBytes   memory the exact preconditioners held
     */
    public record Result(int fitting, int sequences, List<Query> queries, float[][] exact, Map<String, float[][]> scores,
                         List<Agreement> agreements, double exactSeconds, long exactBytes) {}

    /** Scores the exact reference and each of {@code attributions} (stages under {@code stages}) and compares them. */
    public static Result run(Attribution.Inputs in, Attribution.Exact exact, List<Attribution> attributions, Path stages, Progress progress) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        List<Attribution> all = new ArrayList<>(List.of(exact));
        all.addAll(attributions);
        Map<String, float[][]> scores = Attribution.scoresOf(all, in, stages, progress, seconds);
        float[][] reference = scores.remove(exact.name());
        List<Agreement> agreements = new ArrayList<>();
        for (Attribution a : attributions) {
            float[][] s = scores.get(a.name());
            int Q = reference.length;
            double[] pearson = new double[Q];
            double spearman = 0, lowest = Double.POSITIVE_INFINITY, mean = 0;
            for (int q = 0; q < Q; q++) {
                double[] x = toDouble(s[q]), y = toDouble(reference[q]);
                pearson[q] = Correlation.pearson(x, y);
                spearman += Correlation.spearman(x, y) / Q;
                mean += pearson[q] / Q;
                lowest = Math.min(lowest, pearson[q]);
            }
            agreements.add(new Agreement(a.name(), mean, spearman, lowest, pearson, seconds.get(a.name())));
        }
        int n = Math.min(exact.fit().fittingSequences(), in.store().size());
        return new Result(n, in.store().size(), in.queries(), reference, scores, List.copyOf(agreements), seconds.get(exact.name()),
                Attribution.Exact.bytes(in.model(), n));
    }

    private static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }
}
