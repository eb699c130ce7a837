package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.curvature.Blocks;
import dev.imprint.curvature.FactorFitter;
import dev.imprint.curvature.Stage;
import dev.imprint.curvature.Strategy;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.HeapArrays;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * What a command will hold, worked out before any work (method §3, memory): the weights, the
 * activations of a batch, the factors each stage holds and the queries — in the Java heap, and,
 * for LAPACK's eigendecompositions, beside it. Fitting and scoring size their layer groups and
 * factor caches from the plan's {@link #available()} bytes, and a plan whose smallest step does not
 * fit is refused with one line that says what would.
 *
 * @param command   the command planned, for messages
 * @param heap      the heap limit (-Xmx)
 * @param fixed     what every step holds: weights, activations, JVM slack
 * @param steps     each step's own peak, beside {@code fixed}
 * @param available heap for factors beside {@code fixed} and a pass's scratch: what layer groups and caches may fill
 */
public record MemoryPlan(String command, long heap, List<Item> fixed, List<Item> steps, long available) {
    /** The part of the heap kept free for the collector's headroom. */
    static final double SLACK = 0.1;

    /** G1's tables per heap byte, and the rest of the JVM outside the heap (see {@link #jvmNativeBytes}). */
    static final double JVM_TABLES = 0.03;
    static final long JVM_BASE = 64L << 20;

    /** One line of the plan. {@code nativeBytes}: outside the heap (LAPACK's copies and workspace). */
    public record Item(String what, long bytes, long nativeBytes) {
        Item(String what, long bytes) {
            this(what, bytes, 0);
        }
    }

    /** Bytes of every fixed item. */
    public long fixedBytes() {
        return fixed.stream().mapToLong(Item::bytes).sum();
    }

    /** The largest step's heap bytes. */
    public long largestStep() {
        return steps.stream().mapToLong(Item::bytes).max().orElse(0);
    }

    /** The planned peak: fixed items plus the largest step, in the heap and beside it. */
    public long peakBytes() {
        return fixed.stream().mapToLong(i -> i.bytes() + i.nativeBytes()).sum()
                + steps.stream().mapToLong(s -> s.bytes() + s.nativeBytes()).max().orElse(0);
    }

    /** The plan, one line per item, in MiB. */
    public String render() {
        StringBuilder b = new StringBuilder("memory plan for " + command + " (heap " + mib(heap) + "):\n");
        for (Item i : fixed) line(b, i);
        for (Item i : steps) line(b, i);
        b.append(String.format("  %-72s %,9d MiB", "peak (fixed + largest step)", peakBytes() >> 20));
        return b.toString();
    }

    private static void line(StringBuilder b, Item i) {
        if (i.bytes() == 0 && i.nativeBytes() > 0) b.append(String.format("  %-72s %,9d MiB outside the heap%n", i.what(), i.nativeBytes() >> 20));
        else b.append(String.format("  %-72s %,9d MiB%s%n", i.what(), i.bytes() >> 20, i.nativeBytes() > 0 ? " + " + mib(i.nativeBytes()) + " outside the heap" : ""));
    }

    static String mib(long bytes) {
        return String.format("%,d MiB", bytes >> 20);
    }

    /**
     * The plan of fitting {@code strategy}'s stages with {@code blocks} diagonal blocks per factor
     * and batches of (batchSize, seqLen). Each pass holds the state of one layer group; the groups
     * are cut from {@link #available()}, so a step is refused only when a single layer does not fit.
     */
    public static MemoryPlan fit(LanguageModel model, Strategy strategy, int blocks, int batchSize, int seqLen, long heap) {
        return fit(Model.of(model, batchSize, seqLen), strategy, blocks, heap);
    }

    /**
     * What a plan needs of a model: its weights' and one batch's activation bytes, and its tracked
     * layers (so that a plan can be made for a model that is not loaded).
     */
    public record Model(long weightBytes, long activationBytes, int batchSize, int seqLen, List<TrackedLayer> layers) {
        static Model of(LanguageModel m, int batchSize, int seqLen) {
            long weights = 0;
            for (float[] t : m.parameters().tensors()) weights += HeapArrays.floats(t.length);
            return new Model(weights, m.activationBytes(batchSize, seqLen), batchSize, seqLen, m.trackedLayers());
        }
    }

    /** The plan of fitting, for a model described by {@code model}. */
    public static MemoryPlan fit(Model model, Strategy strategy, int blocks, long heap) {
        int batchSize = model.batchSize(), seqLen = model.seqLen();
        List<Item> fixed = fixedItems(model, heap);
        List<TrackedLayer> layers = model.layers();
        List<Stage> stages = stagesOf(strategy);
        // a pass's scratch beside its layers' state: the batch's projections ā' and Ds', each buffer
        // sized for the widest layer on its side, and one sequence's (P, A) gradient
        long rows = (long) batchSize * seqLen, scratch = 0;
        int widestA = 0, widestP = 0;
        long gradient = 0;
        for (TrackedLayer l : layers) {
            widestA = Math.max(widestA, l.activationDim());
            widestP = Math.max(widestP, l.outFeatures());
            gradient = Math.max(gradient, HeapArrays.floats((long) l.outFeatures() * l.activationDim()));
        }
        if (stages.contains(Stage.LAMBDA)) scratch = HeapArrays.floats(rows * widestA) + HeapArrays.floats(rows * widestP) + gradient;
        if (stages.contains(Stage.DIAGONAL_LAMBDA)) scratch = Math.max(scratch, gradient);
        long available = heap - sum(fixed) - scratch;
        List<Item> steps = new ArrayList<>();
        for (Stage stage : stages) {
            switch (stage) {
                case COVARIANCE -> steps.add(pass("covariance", layers, l -> FactorFitter.covarianceBytes(l, blocks), available, 0));
                case EIGENDECOMPOSITION -> {
                    TrackedLayer widest = layers.getFirst();
                    long heapBytes = 0, nativeBytes = 0;
                    for (TrackedLayer l : layers) {
                        long h = eigenHeapBytes(l, blocks);
                        if (h > heapBytes) {
                            heapBytes = h;
                            widest = l;
                        }
                        nativeBytes = Math.max(nativeBytes, eigenNativeBytes(l, blocks));
                    }
                    steps.add(new Item("eigendecomposition, one layer at a time (" + widest.name() + ")", heapBytes, nativeBytes));
                }
                case LAMBDA -> steps.add(pass("eigenvalue correction", layers, l -> FactorFitter.lambdaBytes(l, blocks), available, scratch));
                case DIAGONAL_LAMBDA -> steps.add(pass("diagonal", layers, FactorFitter::diagonalBytes, available, scratch));
            }
        }
        return new MemoryPlan("fit", heap, fixed, steps, available);
    }

    /**
     * The plan of scoring {@code queries} full-rank queries (0: self-influence) against batches of
     * (batchSize, seqLen), with the preconditioners read a layer at a time into a cache of what
     * remains. Query batching at rank k holds less than this.
     */
    public static MemoryPlan query(LanguageModel model, Strategy strategy, int blocks, int queries, int batchSize, int seqLen, long heap) {
        return query(Model.of(model, batchSize, seqLen), strategy, blocks, queries, heap);
    }

    /**
     * The plan of scoring, for a model described by {@code model}. Everything a scoring command
     * holds is held at once (the queries while the preconditioners are read), so every item but
     * the preconditioner cache is fixed, and the cache gets what remains: its {@link #available()}.
     */
    public static MemoryPlan query(Model model, Strategy strategy, int blocks, int queries, long heap) {
        List<Item> fixed = fixedItems(model, heap);
        long perQuery = 0, loading = 0, largest = 0, largestLayer = 0;
        for (TrackedLayer l : model.layers()) {
            long layer = HeapArrays.floats((long) l.outFeatures() * l.activationDim());
            perQuery += layer;
            largestLayer = Math.max(largestLayer, layer);
            largest = Math.max(largest, preconditionerBytes(strategy, l, blocks));
            loading = Math.max(loading, 2 * HeapArrays.doubles((long) l.outFeatures() * l.activationDim())); // Λ read and its mean, beside the reciprocal
        }
        // the scorer's copy of every query and the one being prepared (preconditioned in place), with one layer's three GEMM results
        fixed.add(queries == 0 ? new Item("one sequence's gradient and its rotations, a layer at a time", 3 * largestLayer)
                : new Item("queries: " + queries + " prepared at full rank, one being prepared", (queries + 1L) * perQuery + 3 * largestLayer));
        // all of them kept when they fit; otherwise a cache and, beside it, the one layer read past it
        long total = totalPreconditioners(strategy, model, blocks), room = heap - sum(fixed) - loading;
        long cache = room >= total ? total : Math.max(0, room - largest), held = cache >= total ? total : cache + largest;
        List<Item> steps = List.of(new Item("preconditioners, read a layer at a time (largest " + mib(largest) + ")", held + loading));
        return new MemoryPlan(queries == 0 ? "self-influence" : "query", heap, fixed, steps, cache);
    }

    /** The preconditioner cache a scoring command may fill: what the plan leaves beside everything else. */
    public long preconditionerCache() {
        return available;
    }

    /** Refuses the plan with one line when a step does not fit the heap, saying what would. */
    public void requireFits(LanguageModel model, int blocks, int batchSize) {
        requireFits(model.trackedLayers(), blocks, batchSize);
    }

    /** The same for the tracked layers {@code layers}. */
    public void requireFits(List<TrackedLayer> layers, int blocks, int batchSize) {
        long over = fixedBytes() + largestStep() - heap;
        if (over <= 0) return;
        List<String> would = new ArrayList<>();
        int minDim = layers.stream().mapToInt(l -> Math.min(l.activationDim(), l.outFeatures())).min().orElse(1);
        for (int o = blocks * 2; command.equals("fit") && o <= minDim; o *= 2) { // a scoring command reads factors already fitted
            long stepAt = largestStepWith(layers, o);
            if (stepAt >= 0 && fixedBytes() + stepAt <= heap) {
                would.add("--factor-blocks " + o);
                break;
            }
        }
        if (command.equals("query")) would.add("fewer queries per call");
        if (batchSize > 1) would.add("a smaller --batch-size");
        if (layers.stream().anyMatch(l -> l.name().contains("attn") || l.name().contains("attention")))
            would.add("fewer tracked layers (--layers mlp)");
        would.add("a larger IMPRINT_HEAP");
        Item worst = steps.stream().max(java.util.Comparator.comparingLong(Item::bytes)).orElseThrow();
        throw InputException.outOfMemory(command + " needs " + mib(fixedBytes() + largestStep()) + " of heap at its largest step (" + worst.what()
                + ") but the heap is " + mib(heap) + "; try " + String.join(", or ", would));
    }

    /** The largest per-layer step with {@code blocks} blocks (the single layer that a pass or decomposition cannot split). */
    private static long largestStepWith(List<TrackedLayer> layers, int blocks) {
        long m = 0;
        for (TrackedLayer l : layers)
            m = Math.max(m, Math.max(FactorFitter.covarianceBytes(l, blocks), Math.max(eigenHeapBytes(l, blocks), FactorFitter.lambdaBytes(l, blocks))));
        return m;
    }

    private static List<Item> fixedItems(Model model, long heap) {
        List<Item> fixed = new ArrayList<>();
        fixed.add(new Item("model weights (float32)", model.weightBytes()));
        fixed.add(new Item("activations for a batch of " + model.batchSize() + " × " + model.seqLen() + " tokens", model.activationBytes()));
        fixed.add(new Item("collector headroom (" + Math.round(SLACK * 100) + "% of the heap)", (long) (SLACK * heap)));
        fixed.add(new Item("the JVM beside the heap (collector tables, code, threads)", 0, jvmNativeBytes(heap)));
        return fixed;
    }

    /**
     * What the JVM holds outside the heap: G1's tables (card table, offset table, mark bitmap,
     * remembered sets; about 2.8% of the heap measured under Native Memory Tracking), compiled code,
     * metaspace and thread stacks (about 64 MiB together). Method §3.4.
     */
    static long jvmNativeBytes(long heap) {
        return (long) (JVM_TABLES * heap) + JVM_BASE;
    }

    /** A pass over layer groups that fit {@code budget}: its largest group's state plus {@code scratch}. */
    private static Item pass(String title, List<TrackedLayer> layers, ToLongFunction<TrackedLayer> bytes, long budget, long scratch) {
        List<List<TrackedLayer>> groups = FactorFitter.groups(layers, bytes, Math.max(1, budget));
        long largest = groups.stream().mapToLong(g -> g.stream().mapToLong(bytes).sum()).max().orElse(0);
        String how = groups.size() == 1 ? "all " + layers.size() + " layers in one pass"
                : groups.size() + " passes over the fitting set, up to " + groups.stream().mapToInt(List::size).max().orElse(0) + " layers each";
        return new Item(title + ": " + how, largest + scratch);
    }

    /** Heap of one layer's decomposition: its covariance sums read, their mean, one block's float64 copy, the float32 result. */
    static long eigenHeapBytes(TrackedLayer l, int blocks) {
        Blocks a = new Blocks(l.activationDim(), blocks), s = new Blocks(l.outFeatures(), blocks);
        long packed = a.packedLength() + s.packedLength();
        long block = Math.max((long) a.largest() * a.largest(), (long) s.largest() * s.largest());
        return HeapArrays.doubles(a.packedLength()) + HeapArrays.doubles(s.packedLength()) // the sums read
                + HeapArrays.doubles(Math.max(a.packedLength(), s.packedLength()))          // one factor's mean
                + 2 * HeapArrays.doubles(block)                                              // a block's copy and its symmetrized copy
                + HeapArrays.floats(a.packedLength()) + HeapArrays.floats(s.packedLength()); // the float32 eigenvectors
    }

    /** LAPACK's share: the matrix copied out of the heap, its row-major transpose and dsyevd's workspace (1 + 6b + 2b² doubles). */
    static long eigenNativeBytes(TrackedLayer l, int blocks) {
        long b = Math.max(new Blocks(l.activationDim(), blocks).largest(), new Blocks(l.outFeatures(), blocks).largest());
        return 8 * (4 * b * b + 6 * b);
    }

    private static long preconditionerBytes(Strategy strategy, TrackedLayer l, int blocks) {
        long pa = HeapArrays.doubles((long) l.outFeatures() * l.activationDim());
        return switch (strategy) {
            case Strategy.Identity i -> 0;
            case Strategy.Diagonal d -> pa;
            case Strategy.InEigenbasis e -> FactorFitter.basisBytes(l, blocks) + pa;
        };
    }

    private static long totalPreconditioners(Strategy strategy, Model model, int blocks) {
        return model.layers().stream().mapToLong(l -> preconditionerBytes(strategy, l, blocks)).sum();
    }

    /** The stages a fit of {@code strategy} runs, prerequisites first. */
    private static List<Stage> stagesOf(Strategy strategy) {
        List<Stage> out = new ArrayList<>();
        for (Stage s : strategy.stages()) {
            if (s == Stage.EIGENDECOMPOSITION || s == Stage.LAMBDA) {
                if (!out.contains(Stage.COVARIANCE)) out.add(Stage.COVARIANCE);
                if (!out.contains(Stage.EIGENDECOMPOSITION)) out.add(Stage.EIGENDECOMPOSITION);
            }
            if (!out.contains(s)) out.add(s);
        }
        return out;
    }

    private static long sum(List<Item> items) {
        return items.stream().mapToLong(Item::bytes).sum();
    }
}
