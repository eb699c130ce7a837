package dev.imprint.influence;

import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.TfIdfIndex;

import java.util.ArrayList;
import java.util.List;

/** The TF-IDF candidate filter (method §5): which training sequences each query's gradient pass scores. */
public final class CandidateFilter {
    private CandidateFilter() {}

    /**
     * Each query's top-K training sequences by the paper's TF-IDF over prompt + completion tokens,
     * or null (every sequence for every query) when K is 0 or at least the store size. The index is
     * built on first use beside the store, then reused.
     */
    public static List<int[]> select(SequenceStore store, List<Query> queries, int k, Progress progress) {
        if (k == 0 || k >= store.size()) return null;
        try (TfIdfIndex index = TfIdfIndex.openOrBuild(store, progress)) {
            List<int[]> out = new ArrayList<>();
            for (Query q : queries) out.add(index.topK(q.tokens(), k));
            return out;
        }
    }

    /**
     * Per query, the union or the intersection of two candidate sets (ascending), {@code b} null
     * meaning every sequence: the union is then every sequence (null), the intersection {@code a}.
     */
    public static List<int[]> combine(List<int[]> a, List<int[]> b, boolean union) {
        if (b == null) return union ? null : a;
        if (a.size() != b.size()) throw new IllegalArgumentException(a.size() + " and " + b.size() + " candidate sets");
        List<int[]> out = new ArrayList<>();
        for (int q = 0; q < a.size(); q++) {
            java.util.BitSet x = new java.util.BitSet(), y = new java.util.BitSet();
            for (int i : a.get(q)) x.set(i);
            for (int i : b.get(q)) y.set(i);
            if (union) x.or(y);
            else x.and(y);
            out.add(x.stream().toArray());
        }
        return out;
    }

    /** What a run's {@code candidates} field says: "all" when nothing was filtered out, else K. */
    public static String describe(int k, int sequences) {
        return k == 0 || k >= sequences ? "all" : Integer.toString(k);
    }
}
