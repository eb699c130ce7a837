package dev.imprint.peer;

import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.TfIdfIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Times the TF-IDF filter (method §5, Eq. 28–29) on a built sequence store: the index build (always
 * rebuilt, into {@code <store>/tfidf}), its size on disk, and the latency of
 * {@link TfIdfIndex#topK} over random queries, each a window of consecutive tokens of a random
 * sequence (so a query shares text with the corpus, as real prompts and completions do). The first
 * {@value #WARMUP} queries are untimed (JIT warm-up). A measurement, not a test.
 *
 * <p>Usage: {@code TfIdfBench <store dir> [queries] [query tokens] [k] [seed]}
 * (defaults 50, 20, 10000, 20231108)
 */
public final class TfIdfBench {
    private static final int WARMUP = 20;

    private TfIdfBench() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) throw new IllegalArgumentException("usage: TfIdfBench <store dir> [queries] [query tokens] [k] [seed]");
        Path storeDir = Path.of(args[0]);
        int queries = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        int queryTokens = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int k = args.length > 3 ? Integer.parseInt(args[3]) : 10_000;
        long seed = args.length > 4 ? Long.parseLong(args[4]) : 20231108L;
        try (SequenceStore store = SequenceStore.open(storeDir)) {
            System.out.printf("store %s: %d sequences of up to %d tokens, %d tokens%n", storeDir, store.size(), store.seqLen(), store.info().tokens());
            long t0 = System.nanoTime();
            try (TfIdfIndex index = TfIdfIndex.build(store, storeDir.resolve(TfIdfIndex.DIRECTORY), new ConsoleProgress())) {
                System.out.printf("index build: %.2f s, %.2f MiB on disk%n", (System.nanoTime() - t0) / 1e9, bytes(index.directory()) / 1048576.0);
                SplittableRandom random = new SplittableRandom(seed);
                long[] nanos = new long[queries];
                long hits = 0;
                for (int q = -WARMUP; q < queries; q++) {
                    int[] query = window(store.sequence(random.nextInt(store.size())), queryTokens, random);
                    long start = System.nanoTime();
                    int[] top = index.topK(query, k);
                    if (q >= 0) {
                        nanos[q] = System.nanoTime() - start;
                        hits += top.length;
                    }
                }
                Arrays.sort(nanos);
                System.out.printf("topK(%d tokens, k=%d) over %d queries (seed %d): median %.2f ms, p90 %.2f ms, min %.2f ms, max %.2f ms; %.0f candidates on average%n",
                        queryTokens, k, queries, seed, nanos[queries / 2] / 1e6, nanos[queries * 9 / 10] / 1e6, nanos[0] / 1e6,
                        nanos[queries - 1] / 1e6, hits / (double) queries);
            }
        }
    }

    /** {@code n} consecutive tokens of {@code sequence} from a random start (all of it when shorter). */
    private static int[] window(int[] sequence, int n, SplittableRandom random) {
        if (sequence.length <= n) return sequence;
        int from = random.nextInt(sequence.length - n + 1);
        return Arrays.copyOfRange(sequence, from, from + n);
    }

    private static long bytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
