package dev.imprint.data;

import dev.imprint.model.Tokenizer;
import org.apache.lucene.search.Explanation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TfIdfIndexTest {
    // WordTokenizer ids of PackerTest.WORDS
    static final int EOT = 0, THE = 2, WHALE = 3, SEA = 4, SHIP = 5, ISHMAEL = 6;

    @TempDir
    Path tmp;

    /** A store of {@code docs} random documents (PackerTest.randomDocuments) in {@code tmp/<name>}. */
    SequenceStore randomStore(String name, long seed, int docs, Tokenizer tok, int seqLen) throws IOException {
        Path corpus = tmp.resolve(name + "-corpus");
        List<Document> documents = PackerTest.randomDocuments(seed, docs);
        for (int d = 0; d < documents.size(); d++) CorpusTest.write(corpus.resolve("doc%03d.txt".formatted(d)), documents.get(d).text());
        return SequenceStore.openOrBuild(corpus, tmp.resolve(name), tok, "t", seqLen, Progress.NONE);
    }

    /**
     * Sequences [the whale] ×4, [eot sea], [ship eot] (C = 6): "whale" in 4 sequences, "sea" in
     * one, "Ishmael" in none.
     */
    SequenceStore whaleStore() throws IOException {
        Path corpus = tmp.resolve("whale-corpus");
        CorpusTest.write(corpus.resolve("a.txt"), "the whale the whale the whale the whale");
        CorpusTest.write(corpus.resolve("b.txt"), "sea ship");
        return SequenceStore.openOrBuild(corpus, tmp.resolve("whale"), new WordTokenizer(PackerTest.WORDS), "words", 2, Progress.NONE);
    }

    /** Eq. 28–29 over the raw token sets, one summand per query token occurrence, in double. */
    static double[] naiveScores(SequenceStore store, int[] query, double k1) {
        int C = store.size();
        List<Set<Integer>> sets = new ArrayList<>();
        for (int i = 0; i < C; i++) sets.add(new HashSet<>(Arrays.stream(store.sequence(i)).boxed().toList()));
        double[] scores = new double[C];
        for (int t : query) {
            long n = sets.stream().filter(s -> s.contains(t)).count();
            double idf = Math.log((C - n + 0.5) / (n + 0.5) + 1);
            for (int d = 0; d < C; d++) {
                double indicator = sets.get(d).contains(t) ? 1 : 0;
                scores[d] += idf * (k1 + 1) * indicator / (k1 + indicator);
            }
        }
        return scores;
    }

    /** A random query: tokens of random sequences (repeats likely) and now and then an id no sequence has. */
    static int[] randomQuery(SequenceStore store, SplittableRandom random, int unseenId) {
        int[] q = new int[1 + random.nextInt(30)];
        for (int j = 0; j < q.length; j++) {
            int[] s = store.sequence(random.nextInt(store.size()));
            q[j] = random.nextInt(10) == 0 ? unseenId : s[random.nextInt(s.length)];
        }
        return q;
    }

    @Test
    void scoresAreTheNaiveFormulaToFloatPrecision() throws IOException {
        int checked = 0;
        for (long seed = 1; seed <= 3; seed++) {
            for (Tokenizer tok : List.of(new ByteTokenizer(), new WordTokenizer(PackerTest.WORDS))) {
                System.out.println("TfIdfIndexTest seed " + seed + ", vocabulary " + tok.vocabSize());
                SplittableRandom random = new SplittableRandom(seed);
                try (SequenceStore store = randomStore("s" + seed + "-" + tok.vocabSize(), seed, 30, tok, 3 + random.nextInt(12));
                     TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
                    assertEquals(store.size(), index.size());
                    for (int r = 0; r < 20; r++) {
                        int[] q = randomQuery(store, random, tok.vocabSize() + 7);
                        double[] expected = naiveScores(store, q, PaperTfIdfSimilarity.PAPER_K1);
                        float[] actual = index.scores(q);
                        long terms = Arrays.stream(q).distinct().count();
                        for (int d = 0; d < expected.length; d++) {
                            // each distinct token's summand is rounded to float once, then summed
                            float tolerance = terms * Math.ulp((float) expected[d]);
                            assertEquals(expected[d], actual[d], tolerance, "seed " + seed + " query " + Arrays.toString(q) + " sequence " + d);
                            if (expected[d] == 0) assertEquals(0f, actual[d]);
                            else assertTrue(actual[d] > 0);
                        }
                        checked++;
                    }
                }
            }
        }
        assertEquals(120, checked);
    }

    @Test
    void topKIsTheScoreOrderWithTiesByLowerIndex() throws IOException {
        SplittableRandom random = new SplittableRandom(11);
        System.out.println("TfIdfIndexTest seed 11");
        try (SequenceStore store = randomStore("s", 11, 40, new WordTokenizer(PackerTest.WORDS), 4);
             TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
            int n = store.size();
            for (int r = 0; r < 30; r++) {
                int[] q = randomQuery(store, random, 999);
                float[] scores = index.scores(q);
                int[] ranked = IntStream.range(0, n).filter(i -> scores[i] > 0).boxed()
                        .sorted(Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparing(i -> i))
                        .mapToInt(Integer::intValue).toArray();
                for (int k : new int[] {1, 3, n / 2, n, n + 10, Integer.MAX_VALUE})
                    assertArrayEquals(Arrays.copyOf(ranked, Math.min(k, ranked.length)), index.topK(q, k), "query " + Arrays.toString(q) + " k " + k);
            }
        }
    }

    @Test
    void handComputedScoresTiesAndRepeatedTokens() throws IOException {
        try (SequenceStore store = whaleStore(); TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
            assertEquals(6, store.size());
            assertArrayEquals(new int[] {EOT, SEA}, store.sequence(4));
            float whale = (float) Math.log((6 - 4 + 0.5) / (4 + 0.5) + 1), sea = (float) Math.log((6 - 1 + 0.5) / (1 + 0.5) + 1);
            assertEquals(whale, (float) PaperTfIdfSimilarity.idf(4, 6));

            assertArrayEquals(new float[] {whale, whale, whale, whale, 0, 0}, index.scores(new int[] {WHALE}));
            assertArrayEquals(new int[] {0, 1}, index.topK(new int[] {WHALE}, 2), "equal scores: lower index first");
            assertArrayEquals(new int[] {4, 0, 1, 2, 3}, index.topK(new int[] {WHALE, SEA}, 10), "rare 'sea' outweighs common 'whale'");

            // Eq. 28 sums over query token occurrences: 'whale' four times counts four times (4 · 0.442 > 1.54)
            int[] fourWhales = {WHALE, SEA, WHALE, WHALE, WHALE};
            assertEquals((float) (4 * PaperTfIdfSimilarity.idf(4, 6)), index.scores(fourWhales)[0]);
            assertEquals(sea, index.scores(fourWhales)[4]);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4}, index.topK(fourWhales, 10));
            assertArrayEquals(new int[] {4, 5, 0, 1, 2, 3}, index.topK(new int[] {THE, EOT, SEA, SHIP}, 6), "[eot sea] ties [ship eot]");
        }
    }

    @Test
    void emptyAndUnseenQueriesHaveNoCandidates() throws IOException {
        try (SequenceStore store = whaleStore(); TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
            for (int[] q : new int[][] {{}, {ISHMAEL}, {ISHMAEL, 12345, -1}}) {
                assertArrayEquals(new int[0], index.topK(q, 10), Arrays.toString(q));
                assertArrayEquals(new float[6], index.scores(q), Arrays.toString(q));
            }
            assertArrayEquals(new int[] {4}, index.topK(new int[] {ISHMAEL, SEA, 12345}, 10), "unseen tokens add nothing");
            assertEquals("k must be at least 1, got 0",
                    assertThrows(IllegalArgumentException.class, () -> index.topK(new int[] {SEA}, 0)).getMessage());
            int[] tooMany = IntStream.range(0, 1025).toArray();
            assertEquals("query of 1025 distinct tokens exceeds Lucene's limit of 1024 clauses",
                    assertThrows(IllegalArgumentException.class, () -> index.topK(tooMany, 10)).getMessage());
            int[] repeated = new int[5000];
            Arrays.fill(repeated, WHALE);
            assertEquals(4, index.topK(repeated, 10).length, "repeats are one clause");
        }
    }

    @Test
    void explanationsAddUpToTheScore() throws IOException {
        try (SequenceStore store = whaleStore(); TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
            int[] q = {WHALE, SEA, WHALE, THE};
            float[] scores = index.scores(q);
            for (int d = 0; d < store.size(); d++) {
                Explanation e = index.explain(q, d);
                assertEquals(scores[d] > 0, e.isMatch(), e.toString());
                if (e.isMatch()) assertEquals(scores[d], e.getValue().floatValue(), e.toString());
            }
            String whale = index.explain(q, 0).toString();
            assertTrue(whale.contains("2.0 = boost"), whale);
            assertTrue(whale.contains("4 = n, number of sequences containing the token"), whale);
            assertTrue(whale.contains("6 = C, number of sequences"), whale);
            assertTrue(whale.contains("1.5 = k1, term saturation parameter"), whale);
            assertThrows(IndexOutOfBoundsException.class, () -> index.explain(q, 6));
        }
    }

    @Test
    void similarityValidatesK1AndFollowsEq28() {
        for (float bad : new float[] {-1f, Float.NaN, Float.POSITIVE_INFINITY})
            assertEquals("illegal k1 value: " + bad + ", must be a non-negative finite value",
                    assertThrows(IllegalArgumentException.class, () -> new PaperTfIdfSimilarity(bad)).getMessage());
        for (float k1 : new float[] {0f, 1.5f, 3f}) {
            PaperTfIdfSimilarity sim = new PaperTfIdfSimilarity(k1);
            assertEquals(1.0, sim.tf(true), "(k1+1)·1/(k1+1) with k1 = " + k1);
            assertEquals(0.0, sim.tf(false));
        }
        assertEquals(1.5f, new PaperTfIdfSimilarity().k1());
        assertEquals(Math.log(0.5 / 100.5 + 1), PaperTfIdfSimilarity.idf(100, 100), "a token in every sequence still counts a little");
        assertTrue(PaperTfIdfSimilarity.idf(1, 100) > PaperTfIdfSimilarity.idf(2, 100));
    }

    @Test
    void indexIsReusedOnlyWhileTheStoreAndVersionMatch() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = tmp.resolve("corpus");
        CorpusTest.write(corpus.resolve("a.txt"), "call me Ishmael");
        Path storeDir = tmp.resolve("store"), indexDir = storeDir.resolve(TfIdfIndex.DIRECTORY);
        String firstFingerprint;
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, storeDir, tok, "t", 4, Progress.NONE)) {
            firstFingerprint = store.fingerprint();
            assertTrue(indexed(store), "first open builds");
            assertEquals(TfIdfIndexInfo.of(store), TfIdfIndex.readInfo(indexDir));
            assertFalse(indexed(store), "same store: reused");

            // another format version
            Path json = indexDir.resolve(TfIdfIndex.INFO_JSON);
            Files.writeString(json, Files.readString(json).replace("\"version\" : 1", "\"version\" : 0"));
            assertTrue(indexed(store), "other version: rebuilt");
            assertFalse(indexed(store));

            // damaged: a Lucene file gone, or tfidf.json unreadable
            try (Stream<Path> files = Files.list(indexDir)) {
                Files.delete(files.filter(f -> f.getFileName().toString().startsWith("segments_")).findFirst().orElseThrow());
            }
            assertTrue(indexed(store), "damaged index: rebuilt");
            Files.writeString(json, "{");
            assertTrue(indexed(store), "unreadable tfidf.json: rebuilt");
            assertFalse(indexed(store));
        }

        CorpusTest.write(corpus.resolve("a.txt"), "call me Ishmael, again");
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, storeDir, tok, "t", 4, Progress.NONE)) {
            assertNotEquals(firstFingerprint, store.fingerprint());
            assertTrue(indexed(store), "changed store: rebuilt");
            assertEquals(store.fingerprint(), TfIdfIndex.readInfo(indexDir).storeFingerprint());
            try (TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
                assertEquals(store.size(), index.size());
                assertEquals(indexDir, index.directory());
            }
        }
    }

    /** Opens (or builds) the store's index and says whether it was built. */
    private static boolean indexed(SequenceStore store) {
        SequenceStoreTest.Recorder r = new SequenceStoreTest.Recorder();
        TfIdfIndex.openOrBuild(store, r).close();
        return r.tasks.contains("Indexing");
    }

    @Test
    void killedBuildsLeaveNothingBehind() throws IOException {
        try (SequenceStore store = whaleStore()) {
            Path storeDir = store.directory(), indexDir = storeDir.resolve(TfIdfIndex.DIRECTORY);
            // a build killed before its rename leaves its temporary directory and no index
            CorpusTest.write(storeDir.resolve(".tfidf-build-123/_0.cfs"), "half an index");
            try (TfIdfIndex index = TfIdfIndex.openOrBuild(store, Progress.NONE)) {
                assertArrayEquals(new int[] {4}, index.topK(new int[] {SEA}, 10));
            }
            try (Stream<Path> files = Files.list(storeDir)) {
                assertEquals(List.of(), files.map(f -> f.getFileName().toString()).filter(f -> f.startsWith(".tfidf")).toList());
            }
            assertTrue(Files.isRegularFile(indexDir.resolve(TfIdfIndex.INFO_JSON)));

            // an index directory without tfidf.json (not from a complete build) is rebuilt
            Files.delete(indexDir.resolve(TfIdfIndex.INFO_JSON));
            SequenceStoreTest.Recorder r = new SequenceStoreTest.Recorder();
            TfIdfIndex.openOrBuild(store, r).close();
            assertEquals(List.of("Indexing"), r.tasks);
        }
    }
}
