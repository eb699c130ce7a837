package dev.imprint.peer;

import dev.imprint.curvature.CovarianceTap;
import dev.imprint.curvature.Covariances;
import dev.imprint.curvature.Damping;
import dev.imprint.curvature.EigenvalueCorrection;
import dev.imprint.curvature.KroneckerEigenbasis;
import dev.imprint.curvature.Preconditioner;
import dev.imprint.curvature.Preconditioners;
import dev.imprint.curvature.EigenbasisPreconditioner;
import dev.imprint.influence.InfluenceScorer;
import dev.imprint.influence.LowRankQuery;
import dev.imprint.influence.PreparedQuery;
import dev.imprint.influence.Query;
import dev.imprint.influence.QueryGradient;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Transformer;
import dev.imprint.model.GradientTap;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The cost of each influence stage as a ratio to a plain forward + backward (with parameter
 * gradients) over the same tokens (method §3–5): covariance pass, eigendecomposition, eigenvalue
 * correction pass, and scoring passes with 1 full-rank query and with 1, 16, 64 rank-32 queries.
 * Random weights; the shapes are what matters for time. Every stage runs once untimed on the first
 * batch (JIT warm-up); then {@code repeats} rounds time each stage once over all batches, and each
 * stage's fastest round is reported, since other load on the machine only ever slows a run down.
 * For the two fitting passes the time spent inside the tap (the curvature arithmetic itself) is
 * shown beside the pass total.
 *
 * <p>Usage: {@code InfluenceBench [demo|gpt2-small] [batches] [repeats]}
 */
public final class InfluenceBench {
    private InfluenceBench() {}

    record Shape(String name, ModelConfig config, int batch, int seqLen) {}

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "demo";
        int batches = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Shape shape = switch (which) {
            case "demo" -> new Shape("demo (4L d256 V8192)", ModelConfig.gpt2(4, 256, 4, 8192, 256), 8, 256);
            case "gpt2-small" -> new Shape("GPT-2 small (12L d768 V50257)", ModelConfig.gpt2Small(), 1, 512);
            default -> throw new IllegalArgumentException("unknown shape " + which + " (demo or gpt2-small)");
        };
        LanguageModel model = new Transformer(Parameters.initialize(shape.config(), 1), LayerSelection.MLP);
        List<TrackedLayer> layers = model.trackedLayers();
        Random rnd = new Random(2);
        List<SequenceBatch> data = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            int[][] seqs = new int[shape.batch()][shape.seqLen()];
            for (int[] s : seqs) for (int t = 0; t < s.length; t++) s[t] = rnd.nextInt(shape.config().vocabSize());
            data.add(SequenceBatch.pad(seqs, shape.seqLen()));
        }
        long tokens = (long) batches * shape.batch() * shape.seqLen();
        System.out.printf("%s, %d batches of %d x %d tokens, %d threads, best of %d%n", shape.name(), batches, shape.batch(), shape.seqLen(),
                Parallel.threads(), repeats);

        Parameters grads = new Parameters(model.parameters().layout());
        // one untimed run of each fitting pass produces the factors the later stages need
        CovarianceTap[] cov = {new CovarianceTap(layers)};
        for (SequenceBatch b : data) {
            model.forward(b);
            model.backward(model.sampleTargets(7, rows(b)), cov[0]);
        }
        List<KroneckerEigenbasis> bases = new ArrayList<>();
        long e0 = System.nanoTime();
        for (Covariances c : cov[0].covariances()) bases.add(KroneckerEigenbasis.of(c));
        double tEig = (System.nanoTime() - e0) / 1e9;
        EigenvalueCorrection[] lam = {new EigenvalueCorrection(layers, bases)};
        for (SequenceBatch b : data) {
            model.forward(b);
            model.backward(model.sampleTargets(7, rows(b)), lam[0]);
        }
        List<Preconditioner> ps = new ArrayList<>();
        Damping damping = Damping.paperDefault();
        for (int l = 0; l < layers.size(); l++)
            ps.add(new EigenbasisPreconditioner(bases.get(l), damping.reciprocal(lam[0].lambdas().get(l).mean(), layers.get(l).name())));
        Preconditioners pre = new Preconditioners(layers, ps);
        // each query is compressed as soon as it is prepared: 64 full-rank GPT-2-small queries would
        // hold 64 × 57 M floats; only the first is kept at full rank
        PreparedQuery firstFull = null;
        List<LowRankQuery> compressed = new ArrayList<>();
        long fullBytes = 0;
        for (int q = 0; q < 64; q++) {
            int[] prompt = new int[12], completion = new int[4];
            for (int i = 0; i < prompt.length; i++) prompt[i] = rnd.nextInt(shape.config().vocabSize());
            for (int i = 0; i < completion.length; i++) completion[i] = rnd.nextInt(shape.config().vocabSize());
            PreparedQuery p = QueryGradient.compute(model, new Query("q" + q, "", "", prompt, completion)).precondition(pre, layers);
            if (firstFull == null) firstFull = p;
            fullBytes += p.preconditioned().stream().mapToLong(m -> 4L * m.rows() * m.cols()).sum();
            compressed.add(LowRankQuery.compress(p, 32));
        }

        TimedTap covTap = new TimedTap((l, b, a, d) -> cov[0].onLayer(l, b, a, d));
        TimedTap lamTap = new TimedTap((l, b, a, d) -> lam[0].onLayer(l, b, a, d));
        InfluenceScorer one = new InfluenceScorer(model, List.of(firstFull));
        List<Stage> stages = new ArrayList<>(List.of(
                new Stage("plain fwd+bwd (parameter gradients)", () -> {}, null, b -> {
                    model.forward(b);
                    model.backward(Targets.nextTokens(b), null, grads);
                }),
                new Stage("fwd + bwd without parameter gradients", () -> {}, null, b -> {
                    model.forward(b);
                    model.backward(model.sampleTargets(7, rows(b)), null);
                }),
                new Stage("covariance pass (sampled labels)", () -> cov[0] = new CovarianceTap(layers), covTap, b -> {
                    model.forward(b);
                    model.backward(model.sampleTargets(7, rows(b)), covTap);
                }),
                new Stage("eigenvalue-correction pass", () -> lam[0] = new EigenvalueCorrection(layers, bases), lamTap, b -> {
                    model.forward(b);
                    model.backward(model.sampleTargets(7, rows(b)), lamTap);
                }),
                new Stage("scoring, 1 query, full rank", () -> {}, null, one::score)));
        for (int n : new int[] {1, 16, 64}) {
            InfluenceScorer scorer = InfluenceScorer.lowRank(model, compressed.subList(0, n));
            stages.add(new Stage("scoring, " + n + " queries, rank 32", () -> {}, null, scorer::score));
        }
        // warm-up on the first batch, then rounds that time every stage once each, so that load from
        // elsewhere on the machine falls on all stages alike; each stage's fastest round is reported
        for (Stage st : stages) {
            st.reset.run();
            st.step.accept(data.getFirst());
        }
        for (int r = 0; r < repeats; r++) {
            for (Stage st : stages) {
                st.reset.run();
                if (st.tap != null) st.tap.nanos = 0;
                long t0 = System.nanoTime();
                data.forEach(st.step);
                st.record((System.nanoTime() - t0) / 1e9);
            }
        }
        double base = stages.getFirst().best;
        for (Stage st : stages) {
            report(st.name, st.best, base, tokens);
            if (st.tap != null) report("  of which in the tap", st.tapBest, base, tokens);
            if (st.name.startsWith("covariance"))
                System.out.printf("  %-44s %8.2f s   (%d layers, one-off)%n", "eigendecomposition", tEig, layers.size());
        }
        System.out.printf("  %-44s %8.2f x   (covariance + correction passes)%n", "fitting, ratio", (stages.get(2).best + stages.get(3).best) / base);
        long bytes = compressed.stream().mapToLong(LowRankQuery::bytes).sum();
        System.out.printf("  64 rank-32 queries hold %.1f MiB (full rank: %.1f MiB)%n", bytes / 1048576.0, fullBytes / 1048576.0);
        System.out.printf("  peak RSS %s%n", BenchMain.peakRss());
    }

    /** One timed stage: {@code reset} runs untimed before each round, {@code step} on every batch. */
    private static final class Stage {
        private final String name;
        private final Runnable reset;
        private final TimedTap tap;
        private final Consumer<SequenceBatch> step;
        double best = Double.MAX_VALUE, tapBest;

        Stage(String name, Runnable reset, TimedTap tap, Consumer<SequenceBatch> step) {
            this.name = name;
            this.reset = reset;
            this.tap = tap;
            this.step = step;
        }

        void record(double seconds) {
            if (seconds < best) {
                best = seconds;
                if (tap != null) tapBest = tap.nanos / 1e9;
            }
        }
    }

    /** A tap that measures the time spent in the tap it wraps. */
    private static final class TimedTap implements GradientTap {
        final GradientTap inner;
        long nanos;

        TimedTap(GradientTap inner) {
            this.inner = inner;
        }

        @Override
        public void onLayer(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients) {
            long t0 = System.nanoTime();
            inner.onLayer(layer, batch, activations, outputGradients);
            nanos += System.nanoTime() - t0;
        }
    }

    private static void report(String what, double seconds, double base, long tokens) {
        System.out.printf("  %-44s %8.2f s   %7.0f tokens/s   %5.2f x plain%n", what, seconds, tokens / seconds, seconds / base);
    }

    /** Ids 0 … B−1 for the rows of a batch: the label draw only needs to be fixed, not tied to a store. */
    private static long[] rows(SequenceBatch b) {
        long[] ids = new long[b.batchSize()];
        for (int i = 0; i < ids.length; i++) ids[i] = i;
        return ids;
    }
}
