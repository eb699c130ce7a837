package dev.imprint.peer;

import dev.imprint.model.LanguageModel;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.Transformer;
import dev.imprint.model.GradientTap;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.ParameterRole;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code imprint bench}: a whole forward + backward (summed cross-entropy on the true next tokens,
 * every parameter gradient) of a transformer shape (GPT-2, GPT-NeoX, Qwen2, Llama) in Imprint and in
 * libtorch (DJL), same random weights, same tokens, same thread count; plus Imprint's taps-only
 * backward (the influence passes' mode). Reports tokens/s, GFLOP/s against the FMA peak, and the
 * process's peak RSS.
 *
 * <p>FLOP per iteration (B batch, T tokens, L layers, H query heads, D head size):
 * fwd+bwd 6·N_matmul·B·T + 12·L·T²·(H·D)·B; taps only (no weight gradients) 4·N_matmul·B·T + 12·L·T²·(H·D)·B.
 * N_matmul counts the weights that are multiplied: every linear weight of the blocks (with
 * grouped-query attention k and v are KV·D wide, so they count less) and the unembedding (the token
 * embedding when the head is tied, lm_head otherwise); embedding lookups, position embeddings,
 * norms and biases are not matmuls. The attention term is QKᵀ and A·V, 2·T²·D multiply-adds each
 * per query head, forward ×3 for the backward: it is over the query width H·D, which grouped-query
 * attention keeps (each query head still scores all T keys), and it counts the whole T×T square
 * (a causal kernel that skips the upper triangle does about half of it).
 *
 * <p>Memory: the two engines run one after the other and never hold weights at once (Llama-3.2-1B:
 * 4.9 GB per copy of the weights, as much again for the gradients). libtorch runs first: the weights
 * are drawn on the heap, copied off-heap into libtorch, and the heap copy is collected (a full GC,
 * after which the JVM gives the heap back) before libtorch allocates gradients and activations; then
 * libtorch is closed, its direct buffers released and glibc's freed heap trimmed, and Imprint draws
 * the same weights again (same seed; the two losses printed agree). Imprint's phase then lets the
 * Java heap grow up to -Xmx with garbage before it collects (bin/imprint: 70% of RAM unless
 * IMPRINT_HEAP is set), so its peak RSS is about min(-Xmx, what it needs); Llama-3.2-1B needs
 * about 11 GB of heap.
 */
public final class BenchMain {
    /**
     * FMA peaks, 2 cores: the one-FMA-pipe figure, and the
     * peak of this machine's Zen 5 cores, which issue two 512-bit FMAs per cycle
     * (2 cores × 2 × 16 lanes × 2 FLOP × 3.6 GHz); the packed GEMM alone reaches 375–385 here.
     */
    static final double PEAK_GFLOPS = 225, PEAK_GFLOPS_TWO_PIPES = 460.8;
    static final long SEED = 20261125L;
    static final String USAGE = "usage: imprint bench [--model small|gpt2-small|both|pythia-160m|qwen2-0.5b|llama-3.2-1b|families] [--iterations N] [--warmup N] "
            + "[--threads N] [--only imprint|torch]";

    /** A benchmarked shape: the model and its batch. */
    record Shape(String name, ModelConfig config, int batch, int seqLen) {
        String describe() {
            var a = config.attention();
            return String.format("%s (%dL d%d H%d%s V%d, B=%d T=%d)", name, config.layers(), config.hidden(), a.heads(),
                    a.kvHeads() == a.heads() ? "" : "/" + a.kvHeads(), config.vocabSize(), batch, seqLen);
        }

        /**
         * N_matmul: the parameters of the matrices multiplied in the forward (every block's linear
         * weights and the unembedding, the token embedding when tied); not the embedding lookups,
         * position embeddings, norms or biases.
         */
        long matmulParameters() {
            long n = 0;
            for (ParameterLayout.Entry e : config.layout().entries()) {
                if (e.role().vector() || e.role() == ParameterRole.POSITION_EMBEDDING) continue;
                if (e.role() == ParameterRole.TOKEN_EMBEDDING && !config.tiedHead()) continue;
                n += (long) e.rows() * e.cols();
            }
            return n;
        }

        int tokens() {
            return batch * seqLen;
        }

        /**
         * FLOP of one iteration: {@code weightFactor}·N_matmul·B·T + 12·L·T²·(H·D)·B (6 with weight
         * gradients, 4 without; the attention term over the query width H·D, which grouped-query
         * attention keeps). See the class comment.
         */
        double flop(int weightFactor) {
            return (double) weightFactor * matmulParameters() * batch * seqLen
                    + 12.0 * config.layers() * (double) seqLen * seqLen * config.attention().queryWidth() * batch;
        }
    }

    static final Shape GPT2_SMALL = new Shape("gpt2-small", ModelConfig.gpt2Small(), 1, 512);
    static final Shape DEMO = new Shape("small", ModelConfig.gpt2(4, 256, 4, 8192, 256), 8, 256);
    static final Shape PYTHIA_160M = new Shape("pythia-160m", ModelConfig.pythia160m(), 1, 512);
    static final Shape QWEN2_05B = new Shape("qwen2-0.5b", ModelConfig.qwen2HalfB(), 1, 512);
    static final Shape LLAMA_32_1B = new Shape("llama-3.2-1b", ModelConfig.llama32OneB(), 1, 512);

    enum Engines { BOTH, IMPRINT, TORCH }

    record Options(List<Shape> shapes, int iterations, int warmup, int threads, Engines engines) {
        Options {
            if (iterations < 1) throw new IllegalArgumentException("--iterations must be at least 1, got " + iterations);
            if (warmup < 0) throw new IllegalArgumentException("--warmup must be at least 0, got " + warmup);
            if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        }

        static Options parse(String[] args) {
            List<Shape> shapes = List.of(DEMO, GPT2_SMALL);
            int iterations = 5, warmup = 2, threads = Runtime.getRuntime().availableProcessors();
            Engines engines = Engines.BOTH;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (!List.of("--model", "--iterations", "--warmup", "--threads", "--only").contains(flag))
                    throw new IllegalArgumentException("unknown option '" + flag + "' (" + USAGE + ")");
                if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
                String value = args[++i];
                switch (flag) {
                    case "--model" -> shapes = switch (value) {
                        case "small" -> List.of(DEMO);
                        case "gpt2-small" -> List.of(GPT2_SMALL);
                        case "both" -> List.of(DEMO, GPT2_SMALL);
                        case "pythia-160m" -> List.of(PYTHIA_160M);
                        case "qwen2-0.5b" -> List.of(QWEN2_05B);
                        case "llama-3.2-1b" -> List.of(LLAMA_32_1B);
                        case "families" -> List.of(PYTHIA_160M, QWEN2_05B, LLAMA_32_1B);
                        default -> throw new IllegalArgumentException("--model must be small, gpt2-small, both, pythia-160m, qwen2-0.5b, llama-3.2-1b or families, got '" + value + "'");
                    };
                    case "--iterations" -> iterations = integer(flag, value);
                    case "--warmup" -> warmup = integer(flag, value);
                    case "--threads" -> threads = integer(flag, value);
                    case "--only" -> engines = switch (value) {
                        case "imprint" -> Engines.IMPRINT;
                        case "torch" -> Engines.TORCH;
                        default -> throw new IllegalArgumentException("--only must be imprint or torch, got '" + value + "'");
                    };
                    default -> throw new AssertionError(flag);
                }
            }
            return new Options(shapes, iterations, warmup, threads, engines);
        }

        private static int integer(String flag, String value) {
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + " needs an integer, got '" + value + "'");
            }
        }
    }

    /**
     * One row of the table; NaN where an engine did not run. {@code torchSeconds} is libtorch doing
     * this pass, {@code versusSeconds} the libtorch pass the Imprint/libtorch ratio divides by.
     */
    record Row(Shape shape, String pass, int weightFactor, double imprintSeconds, double torchSeconds, double versusSeconds) {}

    public static void main(String[] args) {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(USAGE);
            return;
        }
        Options opt;
        try {
            opt = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("imprint bench: " + e.getMessage());
            System.exit(2);
            return;
        }
        // before anything touches Imprint's pool, which reads this property once
        System.setProperty("imprint.threads", Integer.toString(opt.threads()));
        boolean imprint = opt.engines() != Engines.TORCH, torch = opt.engines() != Engines.IMPRINT;
        String torchInfo = "";
        if (torch) {
            int t = TorchTransformer.useThreads(opt.threads());
            torchInfo = ", libtorch " + TorchTransformer.engineVersion() + " (" + t + " intra-op threads)";
        }
        System.out.printf("imprint bench: %d threads%s, %d warm-up + %d timed iterations, seed %d, random weights%n",
                opt.threads(), torchInfo, opt.warmup(), opt.iterations(), SEED);

        List<Row> rows = new ArrayList<>();
        for (Shape shape : opt.shapes()) {
            SequenceBatch batch = randomBatch(shape);
            Targets targets = Targets.nextTokens(batch);
            System.err.printf(Locale.ROOT, "%s: N = %,d parameters, N_matmul = %,d; fwd+bwd %.1f GFLOP per iteration%n",
                    shape.describe(), shape.config().parameterCount(), shape.matmulParameters(), shape.flop(6) * 1e-9);
            double full = Double.NaN, taps = Double.NaN, torchFull = Double.NaN;
            if (torch) { // first, and closed before Imprint draws its weights
                torchFull = runTorch(shape, batch, targets, opt);
                releaseNativeMemory();
                report("after " + shape.name() + " libtorch");
            }
            if (imprint) {
                double[] t = runImprint(Parameters.initialize(shape.config(), SEED), batch, targets, opt, shape.name());
                full = t[0];
                taps = t[1];
                report("after " + shape.name() + " Imprint");
            }
            System.gc(); // the next shape starts from an empty heap
            rows.add(new Row(shape, "fwd+bwd, all grads", 6, full, torchFull, torchFull));
            rows.add(new Row(shape, "fwd+bwd, taps only*", 4, taps, Double.NaN, torchFull));
        }
        printTable(rows);
        printSummary(rows, opt);
    }

    static SequenceBatch randomBatch(Shape shape) {
        Random rng = new Random(SEED + 1);
        int[] tokens = new int[shape.tokens()];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(shape.config().vocabSize());
        int[] lengths = new int[shape.batch()];
        Arrays.fill(lengths, shape.seqLen());
        return new SequenceBatch(shape.batch(), shape.seqLen(), tokens, lengths);
    }

    /** Mean seconds per iteration of Imprint's fwd+bwd with gradients, then of the taps-only fwd+bwd. */
    static double[] runImprint(Parameters params, SequenceBatch batch, Targets targets, Options opt, String name) {
        LanguageModel model = new Transformer(params, LayerSelection.MLP);
        Parameters grads = new Parameters(params.layout());
        double[] loss = new double[1];
        double full = time(name + " Imprint fwd+bwd", opt, () -> {
            grads.zero();
            model.forward(batch);
            loss[0] = model.loss(targets);
            model.backward(targets, null, grads);
        });
        System.err.printf(Locale.ROOT, "  Imprint loss %.4f%n", loss[0]);
        GradientTap ignore = (layer, b, activations, outputGradients) -> { };
        double taps = time(name + " Imprint taps only", opt, () -> {
            model.forward(batch);
            model.backward(targets, ignore);
        });
        return new double[] {full, taps};
    }

    /** Mean seconds per iteration of libtorch's fwd+bwd (gradients zeroed each step, left in libtorch). */
    static double runTorch(Shape shape, SequenceBatch batch, Targets targets, Options opt) {
        String name = shape.name();
        double[] loss = new double[1];
        double seconds;
        try (TorchTransformer model = new TorchTransformer(Parameters.initialize(shape.config(), SEED))) {
            shrinkHeap(); // the heap copy of the weights is garbage now: let the heap shrink before libtorch's gradients
            report("after loading " + name + " into libtorch");
            seconds = time(name + " libtorch fwd+bwd", opt, () -> loss[0] = model.forwardBackward(batch, targets));
        }
        System.err.printf(Locale.ROOT, "  libtorch loss %.4f%n", loss[0]);
        return seconds;
    }

    /**
     * After libtorch is closed: its weights live in direct ByteBuffers, which are freed only when the
     * collector finds them unreachable, so collect until the direct pool is (nearly) empty (at most
     * ~10 s); then ask glibc to return the freed heap of libtorch's tensors to the system
     * (malloc_trim), which it otherwise keeps for later allocations (about 3 GB after Llama-3.2-1B),
     * so that it does not add to Imprint's resident set.
     */
    static void releaseNativeMemory() {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElse(null);
        for (int i = 0; i < 100; i++) {
            System.gc();
            if (direct == null || direct.getMemoryUsed() < 64L << 20) break;
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (direct != null)
            System.err.printf(Locale.ROOT, "  direct buffers after closing libtorch: %.2f GB%n", direct.getMemoryUsed() / 1e9);
        String before = memory("VmRSS:");
        try {
            Linker linker = Linker.nativeLinker();
            var trim = linker.defaultLookup().find("malloc_trim");
            if (trim.isPresent()) {
                MethodHandle h = linker.downcallHandle(trim.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                int released = (int) h.invokeExact(0L);
                System.err.printf(Locale.ROOT, "  malloc_trim: RSS %s before, %s after%s%n", before, memory("VmRSS:"), released == 0 ? " (nothing to release)" : "");
            }
        } catch (Throwable e) { // not glibc, or native access refused: the memory stays with the process
            System.err.println("  malloc_trim unavailable (" + e + ")");
        }
    }

    /**
     * A full GC, then up to 5 s while G1 marks the emptied heap for return (it uncommits the pages
     * concurrently, over the next seconds: the resident set drops a little later).
     */
    static void shrinkHeap() {
        System.gc();
        var heap = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 50 && heap.getHeapMemoryUsage().getCommitted() > heap.getHeapMemoryUsage().getUsed() + (1L << 30); i++) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Runs warm-ups, then timed iterations; progress to stderr; returns mean seconds per timed iteration. */
    static double time(String what, Options opt, Runnable step) {
        for (int i = 0; i < opt.warmup(); i++) {
            long t0 = System.nanoTime();
            step.run();
            System.err.printf(Locale.ROOT, "%s warm-up %d/%d: %.2f s%n", what, i + 1, opt.warmup(), (System.nanoTime() - t0) * 1e-9);
        }
        double total = 0;
        for (int i = 0; i < opt.iterations(); i++) {
            long t0 = System.nanoTime();
            step.run();
            double s = (System.nanoTime() - t0) * 1e-9;
            total += s;
            System.err.printf(Locale.ROOT, "%s iteration %d/%d: %.2f s (RSS %s)%n", what, i + 1, opt.iterations(), s, memory("VmRSS:"));
        }
        return total / opt.iterations();
    }

    static void printTable(List<Row> rows) {
        String head = "%-44s %-20s %14s %15s %17s %16s %9s %9s %17s %9s %9s%n";
        System.out.printf(Locale.ROOT, head, "model", "pass", "Imprint tok/s", "libtorch tok/s", "Imprint/libtorch",
                "Imprint GFLOP/s", "%of 225", "%of 461", "libtorch GFLOP/s", "%of 225", "%of 461");
        for (Row r : rows) {
            double flop = r.shape().flop(r.weightFactor());
            double it = r.shape().tokens() / r.imprintSeconds(), tt = r.shape().tokens() / r.torchSeconds();
            double ig = flop / r.imprintSeconds() * 1e-9, tg = flop / r.torchSeconds() * 1e-9;
            double ratio = r.versusSeconds() / r.imprintSeconds();
            System.out.printf(Locale.ROOT, head, r.shape().describe(), r.pass(), num(it, "%.1f"), num(tt, "%.1f"),
                    num(ratio, "%.3fx"), num(ig, "%.2f"), num(100 * ig / PEAK_GFLOPS, "%.1f%%"), num(100 * ig / PEAK_GFLOPS_TWO_PIPES, "%.1f%%"),
                    num(tg, "%.2f"), num(100 * tg / PEAK_GFLOPS, "%.1f%%"), num(100 * tg / PEAK_GFLOPS_TWO_PIPES, "%.1f%%"));
        }
        System.out.println("* taps only: Imprint's backward without parameter gradients (ā and Ds of the MLP layers to a tap that"
                + " ignores them); its ratio is against libtorch's full fwd+bwd. FLOP: fwd+bwd 6·N_matmul·B·T + 12·L·T²·(H·D)·B, taps only"
                + " 4·N_matmul·B·T + 12·L·T²·(H·D)·B (N_matmul: linear weights and the unembedding; H query heads). Peaks: 225 GFLOP/s is the 2-core figure for one FMA pipe per core;"
                + " 461 GFLOP/s counts the two 512-bit FMA pipes of this machine's Zen 5 cores at 3.6 GHz.");
    }

    static void printSummary(List<Row> rows, Options opt) {
        StringBuilder sb = new StringBuilder("summary:");
        for (int i = 0; i + 1 < rows.size(); i += 2) { // rows come in pairs: all grads, taps only
            Row full = rows.get(i), taps = rows.get(i + 1);
            double tokens = full.shape().tokens();
            sb.append(String.format(Locale.ROOT, " %s: Imprint %s tok/s (taps only %s), libtorch %s tok/s, Imprint/libtorch %s;",
                    full.shape().name(), num(tokens / full.imprintSeconds(), "%.1f"), num(tokens / taps.imprintSeconds(), "%.1f"),
                    num(tokens / full.torchSeconds(), "%.1f"), num(full.torchSeconds() / full.imprintSeconds(), "%.3fx")));
        }
        sb.append(String.format(Locale.ROOT, " peak RSS %s (%s); %d threads", peakRss(),
                opt.engines() == Engines.BOTH ? "both engines in one JVM" : "only " + opt.engines().name().toLowerCase(Locale.ROOT),
                opt.threads()));
        System.out.println(sb);
    }

    static String num(double v, String format) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "-";
    }

    static void report(String when) {
        System.err.println("  peak RSS " + when + ": " + peakRss());
    }

    /** VmHWM of this process (peak resident set), from /proc/self/status. */
    static String peakRss() {
        return memory("VmHWM:");
    }

    /** A memory line of /proc/self/status (VmHWM: peak resident set, VmRSS: current), in GB. */
    static String memory(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith(key)) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.2f GB", kb / 1e6);
                }
        } catch (IOException | NumberFormatException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown (no " + key + ")";
    }
}
