package dev.imprint.data;

import dev.imprint.InputException;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SequenceStoreTest {
    @TempDir
    Path tmp;

    /** Records which tasks ran, so a test can tell a reuse from a rebuild. */
    static final class Recorder implements Progress {
        final List<String> tasks = new ArrayList<>();
        long steps;

        @Override
        public void start(String task, long total, Unit unit) {
            tasks.add(task.split(" ")[0]);
        }

        @Override
        public void step(long n) {
            steps += n;
        }

        @Override
        public void done() {}

        boolean built() {
            return tasks.contains("Tokenizing");
        }
    }

    /** Writes the documents as a directory of .txt files (doc000.txt, ...) and returns it. */
    Path corpusOf(List<Document> docs) throws IOException {
        Path dir = tmp.resolve("corpus");
        for (int d = 0; d < docs.size(); d++) CorpusTest.write(dir.resolve("doc%03d.txt".formatted(d)), docs.get(d).text());
        return dir;
    }

    static List<Document> read(Path corpus) {
        return CorpusTest.read(Corpus.open(corpus));
    }

    @Test
    void roundTripMatchesThePacker() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = corpusOf(PackerTest.randomDocuments(7, 40));
        List<Document> docs = read(corpus);
        int seqLen = 16;
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), tok, "bytes-v1", seqLen, Progress.NONE)) {
            List<Packer.Sequence> expected = PackerTest.pack(tok, seqLen, Packing.CONCATENATE, docs);
            assertEquals(expected.size(), store.size());
            assertEquals(docs.size(), store.documentCount());
            assertEquals(2, store.info().tokenBytes());
            List<Packer.Sequence> actual = new ArrayList<>();
            for (int i = 0; i < store.size(); i++) {
                Provenance p = store.provenance(i);
                assertArrayEquals(expected.get(i).tokens(), store.sequence(i));
                assertEquals(expected.get(i).pieces(), p.pieces());
                assertArrayEquals(expected.get(i).charStart(), p.tokenCharStart());
                assertArrayEquals(expected.get(i).charEnd(), p.tokenCharEnd());
                actual.add(new Packer.Sequence(store.sequence(i), p.tokenCharStart(), p.tokenCharEnd(), p.pieces()));
            }
            PackerTest.checkConcatenation(tok, seqLen, docs, actual);
            for (int d = 0; d < docs.size(); d++) {
                assertEquals(docs.get(d), store.document(d));
                assertEquals(tok.encode(docs.get(d).text()).length, store.documentTokens(d));
            }
            assertEquals(store.info().tokens(), Arrays.stream(docs.stream().mapToInt(d -> tok.encode(d.text()).length + 1).toArray()).sum());
        }
    }

    @Test
    void sequenceTextsJoinToTheCorpus() throws IOException {
        Tokenizer tok = new WordTokenizer(PackerTest.WORDS);
        Path corpus = corpusOf(PackerTest.randomDocuments(11, 30));
        List<Document> docs = read(corpus);
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), tok, "words", 5, Progress.NONE)) {
            StringBuilder joined = new StringBuilder();
            for (int i = 0; i < store.size(); i++) {
                SequenceText st = store.annotatedText(i);
                assertEquals(st.text(), store.text(i));
                Provenance p = store.provenance(i);
                int[] ids = store.sequence(i);
                for (int t = 0; t < ids.length; t++) {
                    // every word token's span shows exactly that word (word spans never straddle a cut)
                    if (ids[t] == tok.endOfText()) assertEquals(WordTokenizer.EOT_TEXT, st.token(t));
                    else assertEquals(docs.get(p.pieceAt(t).document()).text().substring(p.tokenCharStart()[t], p.tokenCharEnd()[t]), st.token(t));
                }
                joined.append(st.text());
            }
            StringBuilder corpusText = new StringBuilder();
            for (Document d : docs) corpusText.append(d.text()).append(WordTokenizer.EOT_TEXT);
            assertEquals(corpusText.toString(), joined.toString());
        }
    }

    @Test
    void batchesArePaddedToSeqLen() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = CorpusTest.write(tmp.resolve("c/a.txt"), "abcdefghij"); // 10 tokens + EOT = 11 = 4 + 4 + 3
        try (SequenceStore store = SequenceStore.openOrBuild(corpus.getParent(), tmp.resolve("store"), tok, "b", 4, Progress.NONE)) {
            assertEquals(3, store.size());
            SequenceBatch batch = store.batch(1, 2);
            assertEquals(4, batch.seqLen());
            assertArrayEquals(new int[] {4, 3}, batch.lengths());
            assertArrayEquals(new int[] {'e', 'f', 'g', 'h', 'i', 'j', 256, 0}, batch.tokens());
            assertArrayEquals(batch.tokens(), store.batch(new int[] {1, 2}).tokens());
            assertEquals("ij<|endoftext|>", store.text(2));
            assertThrows(IndexOutOfBoundsException.class, () -> store.batch(2, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> store.sequence(3));
        }
    }

    @Test
    void wideVocabularyUses32BitIds() throws IOException {
        Tokenizer tok = new ByteTokenizer(70_000);
        Path corpus = corpusOf(PackerTest.randomDocuments(3, 5));
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), tok, "wide", 8, Progress.NONE)) {
            assertEquals(4, store.info().tokenBytes());
            int[] all = new int[0];
            for (int i = 0; i < store.size(); i++) {
                int[] s = store.sequence(i);
                all = Arrays.copyOf(all, all.length + s.length);
                System.arraycopy(s, 0, all, all.length - s.length, s.length);
            }
            assertEquals(69_999, all[all.length - 1]);
            assertEquals(5, Arrays.stream(all).filter(id -> id == 69_999).count());
        }
    }

    @Test
    void storeIsReusedOnlyWhenTheFingerprintMatches() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = corpusOf(PackerTest.randomDocuments(5, 10));
        Path dir = tmp.resolve("store");
        Recorder first = new Recorder();
        String fingerprint;
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir, tok, "t1", 8, first)) {
            fingerprint = store.fingerprint();
        }
        assertTrue(first.built());
        Recorder again = new Recorder();
        SequenceStore.openOrBuild(corpus, dir, tok, "t1", 8, again).close();
        assertEquals(List.of("Hashing"), again.tasks, "same corpus, tokenizer and seqLen: reused");
        SequenceStore.open(dir, fingerprint).close();

        String changedSeqLen = rebuildAndCheck(corpus, dir, tok, "t1", 9, fingerprint);
        String changedTokenizer = rebuildAndCheck(corpus, dir, tok, "t2", 9, changedSeqLen);
        CorpusTest.write(corpus.resolve("doc003.txt"), "changed text");
        String changedCorpus = rebuildAndCheck(corpus, dir, tok, "t2", 9, changedTokenizer);
        CorpusTest.write(corpus.resolve("new.txt"), "one more");
        rebuildAndCheck(corpus, dir, tok, "t2", 9, changedCorpus);

        // a moved corpus with the same files keeps its fingerprint
        Path moved = Files.move(corpus, tmp.resolve("moved"));
        Recorder afterMove = new Recorder();
        SequenceStore.openOrBuild(moved, dir, tok, "t2", 9, afterMove).close();
        assertFalse(afterMove.built());
    }

    /** openOrBuild with a changed input rebuilds; open with the old fingerprint refuses. */
    private static String rebuildAndCheck(Path corpus, Path dir, Tokenizer tok, String tokId, int seqLen, String oldFingerprint) {
        Recorder r = new Recorder();
        String fingerprint;
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir, tok, tokId, seqLen, r)) {
            fingerprint = store.fingerprint();
        }
        assertTrue(r.built());
        assertNotEquals(oldFingerprint, fingerprint);
        InputException e = assertThrows(InputException.class, () -> SequenceStore.open(dir, oldFingerprint));
        assertEquals("store " + dir + " was built from a different corpus/tokenizer/sequence length (fingerprint "
                + fingerprint.substring(0, 16) + "≠" + oldFingerprint.substring(0, 16) + ")", e.getMessage());
        return fingerprint;
    }

    @Test
    void incompleteOrDamagedStoresAreRebuilt() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = corpusOf(PackerTest.randomDocuments(9, 10));
        Path dir = tmp.resolve("store");
        int[] first;
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, Progress.NONE)) {
            first = store.sequence(0);
        }
        Files.delete(dir.resolve("store.json"));
        assertEquals("store " + dir + " is missing or incomplete (no store.json)",
                assertThrows(InputException.class, () -> SequenceStore.open(dir)).getMessage());
        Recorder r = new Recorder();
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, r)) {
            assertArrayEquals(first, store.sequence(0));
        }
        assertTrue(r.built());

        try (FileChannel ch = FileChannel.open(dir.resolve("tokens.bin"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 2);
        }
        assertTrue(assertThrows(InputException.class, () -> SequenceStore.open(dir)).getMessage()
                .startsWith("store " + dir + " is damaged: tokens.bin has "));
        Recorder r2 = new Recorder();
        SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, r2).close();
        assertTrue(r2.built());

        // a token id changed in place, the file's size unchanged: only its checksum can tell
        Path tokens = dir.resolve("tokens.bin");
        byte[] t = Files.readAllBytes(tokens);
        java.util.zip.CRC32C written = new java.util.zip.CRC32C();
        written.update(t);
        assertTrue(Files.readString(dir.resolve("store.json")).contains(String.format("\"tokens.bin\" : \"%08x\"", written.getValue())),
                "store.json records tokens.bin's CRC32C");
        t[2] ^= 0x01;
        Files.write(tokens, t);
        assertEquals("store " + dir + " is damaged: tokens.bin does not match the CRC32C written with it",
                assertThrows(InputException.class, () -> SequenceStore.open(dir)).getMessage());
        Recorder r3 = new Recorder();
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, r3)) {
            assertArrayEquals(first, store.sequence(0));
        }
        assertTrue(r3.built(), "a damaged store is rebuilt");

        Files.createDirectories(dir.resolve(".build-stale"));
        SequenceStore.build(new StoreSpec(Corpus.open(corpus), tok, "t", 8), dir, Progress.NONE).close();
        assertFalse(Files.exists(dir.resolve(".build-stale")), "leftovers of a killed build are removed");
        try (var files = Files.list(dir)) {
            assertEquals(List.of("documents.bin", "documents.jsonl", "offsets.bin", "pieces.bin", "sequences.bin", "store.json", "texts.bin", "tokens.bin"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void failedBuildLeavesNoCompleteStore() throws IOException {
        Tokenizer tok = new ByteTokenizer();
        Path corpus = corpusOf(PackerTest.randomDocuments(2, 3));
        Path dir = tmp.resolve("store");
        SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, Progress.NONE).close();
        Files.write(corpus.resolve("doc001.txt"), new byte[] {'o', 'k', (byte) 0xc0});
        InputException e = assertThrows(InputException.class, () -> SequenceStore.openOrBuild(corpus, dir, tok, "t", 8, Progress.NONE));
        assertEquals(corpus.resolve("doc001.txt").toAbsolutePath() + ": invalid UTF-8 at byte offset 2", e.getMessage());
        assertFalse(Files.exists(dir.resolve("store.json")));
    }

    @Test
    void jsonlMetadataSurvivesTheStore() throws IOException {
        Path f = CorpusTest.write(tmp.resolve("d.jsonl"), "{\"text\": \"hello there\", \"url\": \"http://x\", \"n\": 2}\n");
        try (SequenceStore store = SequenceStore.openOrBuild(f, tmp.resolve("store"), new ByteTokenizer(), "t", 64, Progress.NONE)) {
            Document d = store.document(0);
            assertEquals(new Document("d.jsonl:1", "d.jsonl", Map.of("url", "http://x", "n", "2"), "hello there"), d);
            assertEquals("hello there<|endoftext|>", store.text(0));
        }
    }

    @Test
    void readsAreThreadSafe() throws Exception {
        Path corpus = corpusOf(PackerTest.randomDocuments(13, 60));
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), new ByteTokenizer(), "t", 7, Progress.NONE);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < store.size(); i++) expected.add(Arrays.toString(store.sequence(i)) + store.text(i));
            List<Future<Boolean>> results = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int offset = w;
                results.add(pool.submit(() -> {
                    for (int k = 0; k < store.size(); k++) {
                        int i = (k * 7 + offset) % store.size();
                        if (!expected.get(i).equals(Arrays.toString(store.sequence(i)) + store.text(i))) return false;
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        }
    }

    @Test
    void samplingIsSeededSortedAndDistinct() throws IOException {
        Path corpus = corpusOf(PackerTest.randomDocuments(17, 50));
        try (SequenceStore store = SequenceStore.openOrBuild(corpus, tmp.resolve("store"), new ByteTokenizer(), "t", 4, Progress.NONE)) {
            int n = store.size();
            assertTrue(n > 100, "enough sequences to sample from: " + n);
            int[] a = store.sample(50, 42), b = store.sample(50, 42), c = store.sample(50, 43);
            assertArrayEquals(a, b);
            assertFalse(Arrays.equals(a, c));
            assertEquals(50, Arrays.stream(a).distinct().count());
            for (int i = 1; i < a.length; i++) assertTrue(a[i - 1] < a[i]);
            assertTrue(a[0] >= 0 && a[a.length - 1] < n);
            assertEquals(n, store.sample(n + 5, 1).length);
            assertEquals(0, store.sample(0, 1).length);
        }
        // every index is about equally likely
        int[] hits = new int[10];
        for (long seed = 0; seed < 5000; seed++) for (int i : Sampler.sample(10, 3, seed)) hits[i]++;
        for (int h : hits) assertTrue(Math.abs(h - 1500) < 150, Arrays.toString(hits));
        assertEquals("sample size -1 is negative", assertThrows(IllegalArgumentException.class, () -> Sampler.sample(5, -1, 0)).getMessage());
    }

    /** A larger generated corpus (~200k tokens in one .jsonl); memory was checked by hand with -Xmx64m on 2M tokens. */
    @Test
    void buildsAGeneratedCorpusOf200kTokens() throws IOException {
        Path f = tmp.resolve("big.jsonl");
        try (var out = Files.newBufferedWriter(f)) {
            for (int d = 0; d < 2000; d++) out.write("{\"text\": \"document " + d + " " + "lorem ipsum ".repeat(8) + "\", \"n\": " + d + "}\n");
        }
        try (SequenceStore store = SequenceStore.openOrBuild(f, tmp.resolve("store"), new ByteTokenizer(), "t", 1024, Progress.NONE)) {
            assertEquals(2000, store.documentCount());
            assertTrue(store.info().tokens() > 200_000, "tokens " + store.info().tokens());
            assertEquals((store.info().tokens() + 1023) / 1024, store.size());
            Document last = store.document(1999);
            assertEquals("big.jsonl:2000", last.id());
            assertEquals("1999", last.metadata().get("n"));
            assertTrue(store.text(store.size() - 1).endsWith("lorem ipsum <|endoftext|>"));
        }
    }
}
