package dev.imprint.influence;

import dev.imprint.curvature.CurvatureFactors;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.FactorArguments;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.Strategy;
import dev.imprint.io.SafeTensors;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.Transformer;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Parameters;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.SequenceBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Thread count: the same EK-FAC fit and scoring run in child JVMs with 1, 2 and 3 pool threads
 * ({@code imprint.threads} is read once per JVM, and sets OpenBLAS's threads too). The covariance
 * sums are bitwise identical. LAPACK's dsyevd is not: OpenBLAS splits its BLAS work by thread count,
 * so eigenvalues move in the last bits (measured ≤ 1e-15 relative), and with them Λ (≤ 1e-10) and
 * the scores (≤ 3e-8); those are checked to tolerances a little above what was measured. The model
 * is large enough (d = 64, batches of 8 sequences of 40–64 tokens) that the model's GEMMs, the
 * larger per-sequence Gram products and the float64 accumulation take their multithreaded paths.
 */
class ThreadCountInvarianceTest {

    @Test
    void oneTwoAndThreeThreadsGiveTheSameFactorsAndScores(@TempDir Path tmp) throws Exception {
        List<Path> runs = new ArrayList<>();
        for (int threads : new int[] {1, 2, 3}) {
            Path out = tmp.resolve("threads-" + threads);
            String java = ProcessHandle.current().info().command().orElseThrow();
            Process child = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-XX:-TieredCompilation",
                    "--enable-native-access=ALL-UNNAMED", "-Dimprint.threads=" + threads, "-cp", System.getProperty("java.class.path"),
                    Run.class.getName(), out.toString())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("child-" + threads + ".log").toFile()).start();
            if (!child.waitFor(180, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                fail("child with " + threads + " threads did not finish in 180 s");
            }
            assertEquals(0, child.exitValue(), "child with " + threads + " threads failed: " + Files.readString(tmp.resolve("child-" + threads + ".log")));
            runs.add(out);
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(runs.getFirst())) {
            files = s.filter(Files::isRegularFile).map(runs.getFirst()::relativize).sorted().toList();
        }
        assertTrue(files.contains(Path.of("scores.bin")), "scores written: " + files);
        assertTrue(files.stream().filter(f -> f.toString().endsWith(".safetensors")).count() >= 5, "factor files written: " + files);
        StringBuilder report = new StringBuilder();
        for (Path other : runs.subList(1, runs.size())) {
            for (Path f : files) {
                Path a = runs.getFirst().resolve(f), b = other.resolve(f);
                String what = f + ", " + runs.getFirst().getFileName() + " vs " + other.getFileName();
                String name = f.getFileName().toString();
                if (name.endsWith("covariance.safetensors") || name.endsWith(".json")) {
                    // the float64 Gram sums: summed in the same order whatever the thread count
                    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), what);
                } else if (name.endsWith("eigenvalues.safetensors") || name.equals("lambda_matrix.safetensors")) {
                    // downstream of LAPACK's dsyevd, whose OpenBLAS threading changes the last bits
                    try (SafeTensors x = SafeTensors.open(a); SafeTensors y = SafeTensors.open(b)) {
                        for (String t : x.tensors().keySet()) {
                            double d = maxRelative(values(x, t), values(y, t));
                            report.append(String.format("%s %s: %.1e%n", what, t, d));
                            assertTrue(d <= (name.startsWith("lambda") ? 1e-8 : 1e-13), what + " " + t + ": " + d);
                        }
                    }
                } else if (name.equals("scores.bin")) {
                    double d = maxRelative(doubles(a), doubles(b));
                    report.append(String.format("%s: %.1e%n", what, d));
                    assertTrue(d <= 1e-6, what + ": " + d);
                }
            }
        }
        System.out.print(report);
    }

    /** max |a − b| over max |a|. */
    static double maxRelative(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }

    static double[] values(SafeTensors st, String name) {
        if (st.info(name).dtype() == SafeTensors.DType.F64) return st.doubles(name);
        float[] f = st.floats(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static double[] doubles(Path file) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(Files.readAllBytes(file));
        double[] d = new double[buf.remaining() / 8];
        for (int i = 0; i < d.length; i++) d[i] = buf.getDouble();
        return d;
    }

    /** The child: fit EK-FAC on a tiny random transformer, then score queries, writing both to a folder. */
    public static final class Run {
        public static void main(String[] args) throws IOException {
            Path out = Path.of(args[0]);
            ModelConfig config = ModelConfig.gpt2(2, 64, 4, 97, 64);
            Parameters params = Parameters.initialize(config, 5);
            Random r = new Random(6);
            for (float[] t : params.tensors()) for (int i = 0; i < t.length; i++) t[i] += (float) (r.nextGaussian() * 0.05);
            LanguageModel model = new Transformer(params, LayerSelection.ALL_LINEAR);
            int[][] seqs = new int[32][];
            for (int i = 0; i < seqs.length; i++) {
                seqs[i] = new int[40 + r.nextInt(25)];
                for (int t = 0; t < seqs[i].length; t++) seqs[i][t] = r.nextInt(config.vocabSize());
            }
            FittingPass pass = new FittingPass(model, FidelityTest.source(seqs), IntStream.range(0, seqs.length).toArray(), 8, 7,
                    FittingPass.Labels.SAMPLED);
            CurvatureFactors factors = CurvatureFactors.open(out.resolve("factors"),
                    new FactorArguments("tiny-random", "in-memory", seqs.length, 7, model.trackedLayers()));
            new FactorFitter(factors, FitProgress.NONE).fit(Strategy.parse("ekfac"), pass);
            Preconditioners pre = Strategy.parse("ekfac").preconditioners(factors, Damping.paperDefault());
            List<PreparedQuery> queries = List.of(
                    QueryGradient.compute(model, InfluenceScorerTest.query(new int[] {1, 2, 3}, new int[] {4, 5})).precondition(pre, model.trackedLayers()),
                    QueryGradient.compute(model, InfluenceScorerTest.query(new int[] {9}, new int[] {10, 11, 12})).precondition(pre, model.trackedLayers()));
            InfluenceScorer scorer = new InfluenceScorer(model, queries);
            try (OutputStream file = Files.newOutputStream(out.resolve("scores.bin")); DataOutputStream data = new DataOutputStream(file)) {
                for (int from = 0; from < seqs.length; from += 8) {
                    int[][] rows = java.util.Arrays.copyOfRange(seqs, from, from + 8);
                    for (double[] perQuery : scorer.score(SequenceBatch.pad(rows, 0))) for (double v : perQuery) data.writeDouble(v);
                }
            }
        }
    }
}
