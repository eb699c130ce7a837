package dev.imprint.validation;

import dev.imprint.InputException;
import dev.imprint.data.Piece;
import dev.imprint.data.Progress;
import dev.imprint.data.SequenceStore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fact recall (method §7.3): for each planted fact queried, the rank of its best-scoring source
 * sequence (a sequence holding a piece of a document that states the fact) among every sequence of
 * the store, ties counted against it; Recall@1, Recall@10 and the mean reciprocal rank per attribution.
 */
public final class FactRecall {
    private FactRecall() {}

    /**
     * One attribution's recall.
     *
     * @param attribution its name
     * @param recallAt1   share of facts whose source ranks first
     * @param recallAt10  share whose source is in the top 10
     * @param mrr         mean of 1 / rank
     * @param ranks       each fact's rank (1 = first), in fact order
     * @param seconds     time to compute its scores in this run (0 when they were on disk)
     */
    public record Recall(String attribution, double recallAt1, double recallAt10, double mrr, int[] ranks, double seconds) {}

    /** A finished run: the facts, how many source sequences each has, and each attribution's recall. */
    public record Result(List<PlantedFacts.Fact> facts, int[] sourceSequences, int sequences, List<Recall> recalls) {}

    /** For each fact, the sequences of {@code store} that hold a piece of one of its source documents; refused when a source is not in the store. */
    public static List<BitSet> sourceSequences(SequenceStore store, List<PlantedFacts.Fact> facts) {
        Map<String, Integer> byId = new HashMap<>();
        for (int d = 0; d < store.documentCount(); d++) byId.put(store.document(d).id(), d);
        Map<Integer, BitSet> sequencesOfDocument = new HashMap<>();
        for (int s = 0; s < store.size(); s++)
            for (Piece p : store.provenance(s).pieces()) sequencesOfDocument.computeIfAbsent(p.document(), d -> new BitSet()).set(s);
        List<BitSet> out = new ArrayList<>();
        for (PlantedFacts.Fact f : facts) {
            BitSet s = new BitSet();
            for (String id : f.sources()) {
                Integer d = byId.get(id);
                if (d == null) throw InputException.notFound("fact " + f.id() + ": source document " + id + " is not in the corpus");
                s.or(sequencesOfDocument.getOrDefault(d, new BitSet()));
            }
            out.add(s);
        }
        return out;
    }

    /**
     * 1 + the number of other sequences scoring at least as high as the best source sequence: a tie
     * counts against the source, so an attribution that scores everything alike ranks it last.
     */
    public static int rank(float[] scores, BitSet sources) {
        float best = Float.NEGATIVE_INFINITY;
        for (int s = sources.nextSetBit(0); s >= 0; s = sources.nextSetBit(s + 1)) best = Math.max(best, scores[s]);
        int atLeast = 0;
        for (int s = 0; s < scores.length; s++) if (!sources.get(s) && scores[s] >= best) atLeast++;
        return atLeast + 1;
    }

    /** Scores every fact's query with each attribution (stages under {@code stages}) and ranks its sources. */
    public static Result run(Attribution.Inputs in, List<PlantedFacts.Fact> facts, List<Attribution> attributions, Path stages, Progress progress) {
        List<BitSet> sources = sourceSequences(in.store(), facts);
        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<String, float[][]> scores = Attribution.scoresOf(attributions, in, stages, progress, seconds);
        List<Recall> recalls = new ArrayList<>();
        for (Attribution a : attributions) {
            float[][] s = scores.get(a.name());
            int[] ranks = new int[facts.size()];
            double at1 = 0, at10 = 0, mrr = 0;
            for (int f = 0; f < ranks.length; f++) {
                ranks[f] = rank(s[f], sources.get(f));
                at1 += ranks[f] == 1 ? 1 : 0;
                at10 += ranks[f] <= 10 ? 1 : 0;
                mrr += 1.0 / ranks[f];
            }
            int n = ranks.length;
            recalls.add(new Recall(a.name(), at1 / n, at10 / n, mrr / n, ranks, seconds.get(a.name())));
        }
        return new Result(facts, sources.stream().mapToInt(BitSet::cardinality).toArray(), in.store().size(), List.copyOf(recalls));
    }
}
