package dev.imprint.data;

import dev.imprint.InputException;
import dev.imprint.model.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PackerTest {
    static final List<String> WORDS = List.of("the", "whale", "sea", "ship", "Ishmael", "call", "me");

    /** Random documents mixing ASCII words, accents, emoji (surrogate pairs) and odd whitespace. */
    static List<Document> randomDocuments(long seed, int count) {
        System.out.println("PackerTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        String[] pieces = {"the", "whale", "sea ", "ship", "Ishmael", " ", "  ", "\n", "é", "😀", "naïve", "call", "me", "x"};
        List<Document> docs = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + random.nextInt(random.nextInt(8) == 0 ? 200 : 20);
            for (int k = 0; k < n; k++) sb.append(pieces[random.nextInt(pieces.length)]).append(random.nextBoolean() ? " " : "");
            docs.add(new Document("doc" + d, "src", Map.of(), sb.toString()));
        }
        return docs;
    }

    static List<Packer.Sequence> pack(Tokenizer tok, int seqLen, Packing packing, List<Document> docs) {
        List<Packer.Sequence> out = new ArrayList<>();
        Packer packer = new Packer(tok, seqLen, packing, out::add);
        for (int d = 0; d < docs.size(); d++) packer.add(d, docs.get(d));
        packer.finish();
        return out;
    }

    @Test
    void concatenationKeepsEveryTokenInOrderWithProvenance() {
        for (Tokenizer tok : List.of(new ByteTokenizer(), new WordTokenizer(WORDS), new WordTokenizer(WORDS, true))) {
            for (int seqLen : new int[] {2, 3, 7, 64, 1000}) {
                List<Document> docs = randomDocuments(seqLen * 31L + tok.vocabSize(), 25);
                List<Packer.Sequence> seqs = pack(tok, seqLen, Packing.CONCATENATE, docs);
                checkConcatenation(tok, seqLen, docs, seqs);
            }
        }
    }

    /** The invariants of concatenation packing, shared with the store tests. */
    static void checkConcatenation(Tokenizer tok, int seqLen, List<Document> docs, List<Packer.Sequence> seqs) {
        // 1. the sequences, concatenated, are the documents' tokens each after beginning-of-text (if
        // the tokenizer has one) and before end-of-text
        IntStream.Builder expected = IntStream.builder();
        int bos = tok.beginOfText().isPresent() ? 1 : 0;
        for (Document d : docs) {
            tok.beginOfText().ifPresent(expected::add);
            for (int id : tok.encode(d.text())) expected.add(id);
            expected.add(tok.endOfText());
        }
        int[] all = seqs.stream().flatMapToInt(s -> Arrays.stream(s.tokens())).toArray();
        assertArrayEquals(expected.build().toArray(), all);
        // 2. every sequence but the last is full; the last is not empty
        for (int i = 0; i < seqs.size(); i++) {
            int len = seqs.get(i).tokens().length;
            if (i + 1 < seqs.size()) assertEquals(seqLen, len);
            else assertTrue(len >= 1 && len <= seqLen);
        }
        // 3. token spans are the tokenizer's; pieces tile each sequence and partition each document
        StringBuilder[] rebuilt = new StringBuilder[docs.size()];
        int[] cursor = new int[docs.size()], tokenIndex = new int[docs.size()];
        int lastDoc = 0;
        for (Packer.Sequence s : seqs) {
            int t = 0;
            for (Piece p : s.pieces()) {
                assertEquals(t, p.tokenStart());
                t = p.tokenEnd();
                assertTrue(p.document() >= lastDoc, "documents in order");
                lastDoc = p.document();
                Document doc = docs.get(p.document());
                Tokenizer.Encoding enc = tok.encodeWithOffsets(doc.text());
                for (int k = p.tokenStart(); k < p.tokenEnd(); k++) {
                    int j = tokenIndex[p.document()]++ - bos; // −1: beginning-of-text, the empty span at 0
                    boolean eot = j == enc.ids().length;
                    assertEquals(j < 0 ? 0 : eot ? doc.text().length() : enc.charStart()[j], s.charStart()[k]);
                    assertEquals(j < 0 ? 0 : eot ? doc.text().length() : enc.charEnd()[j], s.charEnd()[k]);
                    assertEquals(eot, p.endsDocument() && k == p.tokenEnd() - 1);
                }
                assertEquals(cursor[p.document()], p.charStart(), "pieces of a document are adjacent");
                cursor[p.document()] = p.charEnd();
                if (rebuilt[p.document()] == null) rebuilt[p.document()] = new StringBuilder();
                String part = doc.text().substring(p.charStart(), p.charEnd());
                assertFalse(!part.isEmpty() && Character.isLowSurrogate(part.charAt(0)), "a cut never splits a surrogate pair");
                rebuilt[p.document()].append(part);
            }
            assertEquals(s.tokens().length, t);
        }
        for (int d = 0; d < docs.size(); d++) assertEquals(docs.get(d).text(), rebuilt[d].toString(), "document " + d);
    }

    @Test
    void perDocumentPackingTruncatesOrRejects() {
        Tokenizer tok = new WordTokenizer(WORDS);
        List<Document> docs = List.of(new Document("a", "s", Map.of(), "call me Ishmael"),
                new Document("b", "s", Map.of(), "the whale the sea the ship"),
                new Document("c", "s", Map.of(), "the  whale"));
        List<Packer.Sequence> seqs = pack(tok, 4, new Packing.PerDocument(true), docs);
        assertEquals(3, seqs.size());
        assertArrayEquals(new int[] {7, 8, 6, 0}, seqs.get(0).tokens());
        assertEquals(List.of(new Piece(0, 0, 4, 0, 15, true)), seqs.get(0).pieces());
        assertArrayEquals(new int[] {2, 3, 2, 4}, seqs.get(1).tokens());
        assertEquals(List.of(new Piece(1, 0, 4, 0, 18, false)), seqs.get(1).pieces(), "text up to the first dropped token");
        assertArrayEquals(new int[] {2, 3, 0}, seqs.get(2).tokens());
        InputException e = assertThrows(InputException.class, () -> pack(tok, 4, new Packing.PerDocument(false), docs));
        assertEquals("document b: 7 tokens with its end-of-text token exceed the sequence length of 4 (choose truncation or concatenation)", e.getMessage());
    }

    @Test
    void beginningOfTextStartsEveryDocumentInBothPackings() {
        Tokenizer tok = new WordTokenizer(WORDS, true);
        int bos = tok.beginOfText().getAsInt();
        List<Document> docs = List.of(new Document("a", "s", Map.of(), "call me Ishmael"), new Document("b", "s", Map.of(), "the whale"));
        List<Packer.Sequence> perDoc = pack(tok, 5, new Packing.PerDocument(false), docs);
        assertArrayEquals(new int[] {bos, 7, 8, 6, 0}, perDoc.get(0).tokens());
        assertArrayEquals(new int[] {0, 0, 5, 8, 15}, perDoc.get(0).charStart());
        assertArrayEquals(new int[] {bos, 2, 3, 0}, perDoc.get(1).tokens());
        List<Packer.Sequence> packed = pack(tok, 4, Packing.CONCATENATE, docs);
        assertArrayEquals(new int[] {bos, 7, 8, 6}, packed.get(0).tokens());
        assertArrayEquals(new int[] {0, bos, 2, 3}, packed.get(1).tokens());
        InputException e = assertThrows(InputException.class, () -> pack(tok, 4, new Packing.PerDocument(false), docs));
        assertTrue(e.getMessage().startsWith("document a: 5 tokens"), e.getMessage());
    }

    @Test
    void wordGapsGoToTheFollowingPiece() {
        Tokenizer tok = new WordTokenizer(WORDS);
        List<Packer.Sequence> seqs = pack(tok, 2, Packing.CONCATENATE, List.of(new Document("a", "s", Map.of(), " call  me the\n")));
        assertEquals(List.of(new Piece(0, 0, 2, 0, 10, false)), seqs.get(0).pieces(), "' call  me '");
        assertEquals(List.of(new Piece(0, 0, 2, 10, 14, true)), seqs.get(1).pieces(), "'the\\n' then end-of-text");
    }
}
