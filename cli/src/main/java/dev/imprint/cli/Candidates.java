package dev.imprint.cli;

import dev.imprint.data.ConsoleProgress;
import dev.imprint.data.SequenceStore;
import dev.imprint.data.TfIdfIndex;
import dev.imprint.influence.Query;

import java.util.ArrayList;
import java.util.List;

/** The TF-IDF candidate filter as the commands use it (method §5). */
final class Candidates {
    private Candidates() {}

    /**
     * Each query's top-K training sequences by the paper's TF-IDF over prompt + completion tokens,
     * or null (every sequence for every query) when K is 0 or at least the store size.
     */
    static List<int[]> select(SequenceStore store, List<Query> queries, int k) {
        if (k == 0 || k >= store.size()) return null;
        try (TfIdfIndex index = TfIdfIndex.openOrBuild(store, new ConsoleProgress())) {
            List<int[]> out = new ArrayList<>();
            for (Query q : queries) out.add(index.topK(q.tokens(), k));
            return out;
        }
    }

    /** The results' {@code candidates} field: "all" when nothing was filtered out, else K. */
    static String describe(int k, int sequences) {
        return k == 0 || k >= sequences ? "all" : Integer.toString(k);
    }
}
