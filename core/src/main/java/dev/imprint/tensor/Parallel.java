package dev.imprint.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.stream.IntStream;

/**
 * The one thread pool that every kernel shares, sized to the machine's cores (override with the
 * system property {@code imprint.threads}). Work already running inside the pool runs serially, so
 * a kernel called from a parallel loop never oversubscribes the cores.
 */
public final class Parallel {
    private static final ForkJoinPool POOL = new ForkJoinPool(threads());

    private Parallel() {}

    /** Number of worker threads. */
    public static int threads() {
        String p = System.getProperty("imprint.threads");
        if (p != null && !p.isBlank()) return Math.max(1, Integer.parseInt(p.trim()));
        return Runtime.getRuntime().availableProcessors();
    }

    /** True when the caller is one of the pool's workers (nested parallelism runs serially). */
    public static boolean inWorker() {
        return ForkJoinTask.inForkJoinPool() && ForkJoinTask.getPool() == POOL;
    }

    /** Runs {@code body.accept(i)} for i in [0, n), split across the pool; serial when nested or n ≤ 1. */
    public static void forEach(int n, IntBody body) {
        if (n <= 0) return;
        if (n == 1 || POOL.getParallelism() == 1 || inWorker()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        POOL.submit(() -> IntStream.range(0, n).parallel().forEach(body::accept)).join();
    }

    /** An int-indexed loop body. */
    @FunctionalInterface
    public interface IntBody {
        void accept(int i);
    }
}
