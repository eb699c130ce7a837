package dev.imprint.influence;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The k highest scores seen so far, in memory independent of how many are offered. Ties go to the
 * lower sequence index, so the result does not depend on the order sequences arrive in.
 */
public final class TopK {
    /** One candidate. */
    public record Entry(int sequence, double score) {}

    private static final Comparator<Entry> WORST_FIRST =
            Comparator.comparingDouble(Entry::score).thenComparing(Entry::sequence, Comparator.reverseOrder());
    private final int k;
    private final PriorityQueue<Entry> heap;

    public TopK(int k) {
        if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        this.k = k;
        this.heap = new PriorityQueue<>(k + 1, WORST_FIRST);
    }

    public void offer(int sequence, double score) {
        Entry e = new Entry(sequence, score);
        if (heap.size() < k) heap.add(e);
        else if (WORST_FIRST.compare(e, heap.peek()) > 0) {
            heap.poll();
            heap.add(e);
        }
    }

    /** Best first. */
    public List<Entry> sorted() {
        List<Entry> out = new ArrayList<>(heap);
        out.sort(WORST_FIRST.reversed());
        return out;
    }
}
