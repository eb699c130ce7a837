package dev.imprint.data;

import dev.imprint.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusTest {
    @TempDir
    Path dir;

    static List<Document> read(Corpus corpus) {
        List<Document> docs = new ArrayList<>();
        corpus.forEach(docs::add);
        return docs;
    }

    static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }

    @Test
    void directoryOfTextFilesIsReadRecursivelyInPathOrder() throws IOException {
        write(dir.resolve("b.txt"), "bee\n");
        write(dir.resolve("a/z.txt"), "zed");
        write(dir.resolve("a/c.txt"), "see  two\nlines");
        write(dir.resolve(".hidden.txt"), "hidden");
        write(dir.resolve(".git/x.txt"), "hidden too");
        write(dir.resolve("notes.md"), "not corpus");
        write(dir.resolve("empty.txt"), "");
        List<Document> docs = read(Corpus.open(dir));
        assertEquals(List.of("a/c.txt", "a/z.txt", "b.txt"), docs.stream().map(Document::id).toList());
        assertEquals(List.of("see  two\nlines", "zed", "bee\n"), docs.stream().map(Document::text).toList());
        assertEquals("a/c.txt", docs.get(0).source());
        assertEquals(Map.of(), docs.get(0).metadata());
        assertEquals(4, Corpus.open(dir).files().size(), "empty.txt is a corpus file with no document");
    }

    @Test
    void jsonLinesKeepOtherFieldsAsMetadata() throws IOException {
        write(dir.resolve("d.jsonl"), """
                {"text": "hello", "title": "T", "n": 3, "tags": ["x"]}

                {"text": "", "title": "empty"}
                {"title": "second", "text": "world\\nwide"}
                """);
        List<Document> docs = read(Corpus.open(dir.resolve("d.jsonl")));
        assertEquals(List.of("d.jsonl:1", "d.jsonl:4"), docs.stream().map(Document::id).toList());
        assertEquals("world\nwide", docs.get(1).text());
        assertEquals(List.of("title", "n", "tags"), List.copyOf(docs.get(0).metadata().keySet()));
        assertEquals("T", docs.get(0).metadata().get("title"));
        assertEquals("3", docs.get(0).metadata().get("n"));
        assertEquals("[\"x\"]", docs.get(0).metadata().get("tags"));
    }

    @Test
    void jsonLinesTextFieldIsConfigurable() throws IOException {
        write(dir.resolve("d.jsonl"), "{\"content\": \"abc\", \"text\": \"meta\"}\n");
        List<Document> docs = read(Corpus.open(dir.resolve("d.jsonl"), new CorpusOptions("content", "<|endoftext|>")));
        assertEquals("abc", docs.getFirst().text());
        assertEquals(Map.of("text", "meta"), docs.getFirst().metadata());
    }

    @Test
    void badJsonLinesNameFileAndLine() throws IOException {
        Path f = write(dir.resolve("d.jsonl"), "{\"text\": \"ok\"}\n{\"title\": \"no text\"}\n");
        assertEquals(f + ":2: no \"text\" field", assertThrows(InputException.class, () -> read(Corpus.open(f))).getMessage());
        write(f, "{\"text\": \"ok\"}\n{\"text\": \"unterminated\n");
        assertTrue(assertThrows(InputException.class, () -> read(Corpus.open(f))).getMessage().startsWith(f + ":2: not valid JSON ("));
        write(f, "{\"text\": \"ok\"} trailing\n");
        assertTrue(assertThrows(InputException.class, () -> read(Corpus.open(f))).getMessage().startsWith(f + ":1: not valid JSON ("));
        write(f, "[1, 2]\n");
        assertEquals(f + ":1: not a JSON object", assertThrows(InputException.class, () -> read(Corpus.open(f))).getMessage());
        write(f, "{\"text\": 7}\n");
        assertEquals(f + ":1: field \"text\" is not a string", assertThrows(InputException.class, () -> read(Corpus.open(f))).getMessage());
    }

    @Test
    void singleTextFileIsSplitAtSeparatorLines() throws IOException {
        Path f = write(dir.resolve("all.txt"), "one\n<|endoftext|>\ntwo\r\nlines\r\n<|endoftext|>\r\n\n<|endoftext|>\nthree\n <|endoftext|>\n");
        List<Document> docs = read(Corpus.open(f));
        assertEquals(List.of("all.txt#1", "all.txt#2", "all.txt#3"), docs.stream().map(Document::id).toList());
        assertEquals(List.of("one", "two\r\nlines", "three\n <|endoftext|>"), docs.stream().map(Document::text).toList());
        Path g = write(dir.resolve("custom.txt"), "a\n---\nb");
        assertEquals(List.of("a", "b"), read(Corpus.open(g, new CorpusOptions("text", "---"))).stream().map(Document::text).toList());
        assertEquals(List.of("a\n---\nb"), read(Corpus.open(g)).stream().map(Document::text).toList(), "no separator: one document");
    }

    @Test
    void mixedDirectory() throws IOException {
        write(dir.resolve("b.jsonl"), "{\"text\": \"j1\"}\n{\"text\": \"j2\"}\n");
        write(dir.resolve("a.txt"), "t");
        write(dir.resolve("c/d.txt"), "u\n<|endoftext|>\nv");
        List<Document> docs = read(Corpus.open(dir));
        assertEquals(List.of("a.txt", "b.jsonl:1", "b.jsonl:2", "c/d.txt"), docs.stream().map(Document::id).toList());
        assertEquals("u\n<|endoftext|>\nv", docs.get(3).text(), "inside a directory a .txt file is one document");
    }

    @Test
    void idsAreStableAcrossReads() throws IOException {
        write(dir.resolve("x/1.txt"), "a");
        write(dir.resolve("y.jsonl"), "{\"text\": \"b\"}\n");
        assertEquals(read(Corpus.open(dir)), read(Corpus.open(dir)));
    }

    @Test
    void invalidUtf8NamesTheByteOffset() throws IOException {
        Path f = dir.resolve("bad.txt");
        Files.write(f, new byte[] {'a', 'b', 'c', (byte) 0xff, 'd'});
        assertEquals(f + ": invalid UTF-8 at byte offset 3", assertThrows(InputException.class, () -> read(Corpus.open(dir))).getMessage());
        Files.write(f, new byte[] {'a', 'b', (byte) 0xe2, (byte) 0x82});
        assertEquals(f + ": invalid UTF-8 at byte offset 2", assertThrows(InputException.class, () -> read(Corpus.open(dir))).getMessage());
        Files.delete(f);
        Path j = dir.resolve("bad.jsonl");
        byte[] line1 = "{\"text\": \"é\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] line2 = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xc3, '"', '}', '\n'};
        byte[] both = new byte[line1.length + line2.length];
        System.arraycopy(line1, 0, both, 0, line1.length);
        System.arraycopy(line2, 0, both, line1.length, line2.length);
        Files.write(j, both);
        assertEquals(j + ": invalid UTF-8 at byte offset " + (line1.length + 9),
                assertThrows(InputException.class, () -> read(Corpus.open(j))).getMessage());
    }

    @Test
    void byteOrderMarkIsDropped() throws IOException {
        Path f = dir.resolve("bom.txt");
        Files.write(f, new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, 'h', 'i'});
        assertEquals("hi", read(Corpus.open(dir)).getFirst().text());
    }

    @Test
    void emptyAndMissingCorporaAreInputErrors() throws IOException {
        assertEquals("corpus " + dir.resolve("nope") + " does not exist",
                assertThrows(InputException.class, () -> Corpus.open(dir.resolve("nope"))).getMessage());
        assertEquals("corpus directory " + dir + " contains no .txt or .jsonl files",
                assertThrows(InputException.class, () -> Corpus.open(dir)).getMessage());
        Path md = write(dir.resolve("x.md"), "hi");
        assertEquals("corpus file " + md + " is neither .txt nor .jsonl", assertThrows(InputException.class, () -> Corpus.open(md)).getMessage());
        write(dir.resolve("e.txt"), "");
        write(dir.resolve("e.jsonl"), "{\"text\": \"\"}\n\n");
        assertEquals("corpus " + dir + " contains no text: every document is empty",
                assertThrows(InputException.class, () -> read(Corpus.open(dir))).getMessage());
        Path sep = write(dir.resolve("s/only.txt"), "<|endoftext|>\n\n<|endoftext|>\n");
        assertThrows(InputException.class, () -> read(Corpus.open(sep)));
    }

    @Test
    void progressCountsEveryByte() throws IOException {
        write(dir.resolve("a.txt"), "alpha");
        write(dir.resolve("b.jsonl"), "{\"text\": \"x\"}\n\n{\"text\": \"y\"}");
        write(dir.resolve("c/s.txt"), "1\n<|endoftext|>\n2\n");
        Corpus corpus = Corpus.open(dir);
        long[] bytes = {0};
        corpus.forEach(d -> {}, n -> bytes[0] += n);
        assertEquals(corpus.totalBytes(), bytes[0]);
        Corpus single = Corpus.open(dir.resolve("c/s.txt"));
        bytes[0] = 0;
        single.forEach(d -> {}, n -> bytes[0] += n);
        assertEquals(single.totalBytes(), bytes[0]);
    }
}
