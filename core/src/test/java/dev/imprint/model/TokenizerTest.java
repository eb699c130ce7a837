package dev.imprint.model;

import dev.imprint.InputException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Gpt2BpeTokenizer (jtokkit) against HfTokenizer (Rust, through DJL) on tokenizer.json files from ByteLevelBpe. */
class TokenizerTest {
    /** Unicode (accents, CJK, an emoji outside the BMP, a combining mark), digits, contractions, runs of spaces, tabs and newlines. */
    static final String SAMPLE = """
            It's 1,234.56 km — naïve café façade! Don't we'll they've I'm.
              Two  spaces,   three,\ttab\t\tand trailing   \n\n\nThree newlines; 世界你好 👋🏽 e\u0301 ½ \
            x=42; y = [1, 22, 333, 4444, 55555]  <|endoftext|>Next document.
            \s\s
            """;

    @TempDir static Path dir;
    static Gpt2BpeTokenizer gpt2;
    static HfTokenizer hfFull;
    static HfTokenizer hfSmall;

    @BeforeAll
    static void load() throws IOException {
        gpt2 = new Gpt2BpeTokenizer();
        hfFull = HfTokenizer.load(write("full/tokenizer.json", ByteLevelBpe.gpt2Prefix(50257)));
        hfSmall = Tokenizers.load(write("small/tokenizer.json", ByteLevelBpe.gpt2Prefix(4096)).getParent());
    }

    @AfterAll
    static void close() {
        hfFull.close();
        hfSmall.close();
    }

    private static Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
        return p;
    }

    @Test
    void gpt2KnownIds() {
        assertArrayEquals(new int[] {15496, 995}, gpt2.encode("Hello world"));
        assertArrayEquals(new int[] {15496, 50256, 995}, gpt2.encode("Hello<|endoftext|> world"));
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.endOfText());
        assertEquals("Hello<|endoftext|> world", gpt2.decode(new int[] {15496, 50256, 995}));
    }

    @Test
    void fullPrefixIsGpt2() {
        assertArrayEquals(gpt2.encode(SAMPLE), hfFull.encode(SAMPLE));
        Tokenizer.Encoding a = gpt2.encodeWithOffsets(SAMPLE), b = hfFull.encodeWithOffsets(SAMPLE);
        assertArrayEquals(a.ids(), b.ids());
        assertArrayEquals(a.charStart(), b.charStart());
        assertArrayEquals(a.charEnd(), b.charEnd());
        assertEquals(50257, hfFull.vocabSize());
        assertEquals(50256, hfFull.endOfText());
        assertEquals(SAMPLE, hfFull.decode(hfFull.encode(SAMPLE)));
        assertEquals(SAMPLE, gpt2.decode(gpt2.encode(SAMPLE)));
    }

    @Test
    void smallPrefixEncodesEverythingBelowItsSize() {
        int[] ids = hfSmall.encode(SAMPLE);
        for (int id : ids) assertTrue(id >= 0 && id < 4096, "id " + id);
        assertEquals(4096, hfSmall.vocabSize());
        assertEquals(4095, hfSmall.endOfText());
        assertEquals(SAMPLE, hfSmall.decode(ids));
        assertTrue(ids.length > gpt2.encode(SAMPLE).length, "a smaller vocabulary needs more tokens");
        assertTiles(hfSmall, SAMPLE);
    }

    @Test
    void spansTileTheTextAndMatchTheTokens() {
        for (Tokenizer t : new Tokenizer[] {gpt2, hfFull, hfSmall}) {
            assertTiles(t, SAMPLE);
            assertTiles(t, "");
            assertTiles(t, "👋");
        }
    }

    @Test
    void aSplitCharacterBelongsToTheTokenThatCompletesIt() {
        for (Tokenizer t : new Tokenizer[] {gpt2, hfFull}) {
            Tokenizer.Encoding e = t.encodeWithOffsets("a世");  // 世 = e4 b8 96 = "ä¸" + "ĸ" in GPT-2
            assertArrayEquals(new int[] {64, 10310, 244}, e.ids());
            assertArrayEquals(new int[] {0, 1, 1}, e.charStart());
            assertArrayEquals(new int[] {1, 1, 2}, e.charEnd());
        }
    }

    @Test
    void unpairedSurrogatesKeepSpansConsistent() {
        assertTiles(gpt2, "a\uD800b \uDC00");
    }

    @Test
    void longTextsAreNotTruncated() {
        String text = "word ".repeat(3000);
        assertEquals(3001, hfFull.encode(text).length);
        assertEquals(3001, gpt2.encode(text).length);
    }

    @Test
    void decodeRefusesUnknownIds() {
        assertEquals("token id 4096 is outside [0, 4096)",
                assertThrows(IllegalArgumentException.class, () -> hfSmall.decode(new int[] {1, 4096})).getMessage());
        assertEquals("token id -1 is outside [0, 50257)",
                assertThrows(IllegalArgumentException.class, () -> gpt2.decode(new int[] {-1})).getMessage());
    }

    @Test
    void badTokenizerFilesAreInputErrors() throws IOException {
        Path malformed = write("bad/malformed.json", "{\"model\": {");
        assertInputError(malformed + ": malformed JSON (", () -> HfTokenizer.load(malformed));
        Path notTokenizer = write("bad/not-a-tokenizer.json", "{\"model\": {\"type\": \"Nope\", \"vocab\": {\"<|endoftext|>\": 0}}}");
        assertInputError(notTokenizer + ": not a valid Hugging Face tokenizer (", () -> HfTokenizer.load(notTokenizer));
        Path noVocab = write("bad/no-vocab.json", "{\"model\": {\"type\": \"BPE\"}}");
        assertInputError(noVocab + ": model.vocab is missing", () -> HfTokenizer.load(noVocab));
        Path absent = dir.resolve("bad/absent.json");
        assertInputError(absent + ": no such file", () -> HfTokenizer.load(absent));
        assertInputError(dir.resolve("bad") + ": no tokenizer.json", () -> Tokenizers.load(dir.resolve("bad")));
    }

    /** A word-level tokenizer with no {@code <|endoftext|>}: the end-of-text id comes from config.json. */
    @Test
    void endOfTextFallsBackToConfigEos() throws IOException {
        Path json = write("words/tokenizer.json", """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
                 "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2, "</s>": 3}, "unk_token": "[UNK]"}}""");
        assertInputError(json + ": no <|endoftext|> token, and no config.json beside it", () -> Tokenizers.load(json.getParent()));
        HfConfig.write(ModelConfig.gpt2(1, 8, 2, 4, 16), json.resolveSibling("config.json"));
        try (HfTokenizer words = Tokenizers.load(json.getParent())) {
            assertEquals(3, words.endOfText());
            assertEquals(4, words.vocabSize());
            assertArrayEquals(new int[] {1, 0, 2}, words.encode("hello there world"));
            Tokenizer.Encoding e = words.encodeWithOffsets("hello there world");
            assertArrayEquals(new int[] {0, 6, 12}, e.charStart());
            assertArrayEquals(new int[] {5, 11, 17}, e.charEnd());
        }
        assertInputError(json + ": end-of-text id 9 is outside the vocabulary [0, 4)", () -> HfTokenizer.load(json, () -> 9));
    }

    /** Spans start at 0, each starts where the previous ended, the last ends at the text's end, and a token covering whole characters spells them. */
    private static void assertTiles(Tokenizer t, String text) {
        Tokenizer.Encoding e = t.encodeWithOffsets(text);
        assertArrayEquals(t.encode(text), e.ids());
        int at = 0;
        for (int i = 0; i < e.ids().length; i++) {
            assertEquals(at, e.charStart()[i], "start of token " + i);
            assertTrue(e.charEnd()[i] >= at, "end of token " + i);
            at = e.charEnd()[i];
            String piece = t.decode(new int[] {e.ids()[i]});
            if (!piece.contains("\uFFFD") && e.charStart()[i] < e.charEnd()[i] && isWholeText(text))
                assertEquals(text.substring(e.charStart()[i], e.charEnd()[i]), piece, "text of token " + i);
        }
        assertEquals(text.length(), at);
    }

    /** Unpaired surrogates decode as '?', so only well-formed text can be compared piece by piece. */
    private static boolean isWholeText(String text) {
        return text.codePoints().noneMatch(c -> c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE);
    }

    /**
     * Long texts are encoded in pieces cut before words; for the byte-level pre-tokenizers of GPT-2,
     * Llama 3 and Qwen2 that gives exactly the whole text's ids and spans, at every piece size
     * (down to one character, so that every word start in the text is a cut). A SentencePiece-style
     * tokenizer is never cut.
     */
    @Test
    void encodingInPiecesEqualsEncodingWhole() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        String[] llamaStyle = {
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
        java.util.List<HfTokenizer> tokenizers = new java.util.ArrayList<>(java.util.List.of(hfSmall));
        for (int v = 0; v < llamaStyle.length; v++) {
            var root = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(ByteLevelBpe.gpt2Prefix(4096));
            var pre = root.putObject("pre_tokenizer").put("type", "Sequence");
            var split = pre.putArray("pretokenizers").addObject().put("type", "Split");
            split.putObject("pattern").put("Regex", llamaStyle[v]);
            split.put("behavior", "Isolated").put("invert", false);
            ((com.fasterxml.jackson.databind.node.ArrayNode) pre.get("pretokenizers")).addObject().put("type", "ByteLevel")
                    .put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
            assertTrue(HfTokenizer.splitsBeforeWords(root), "variant " + v);
            tokenizers.add(HfTokenizer.load(write("split" + v + "/tokenizer.json", root.toString())));
        }
        assertTrue(HfTokenizer.splitsBeforeWords(json.readTree(ByteLevelBpe.gpt2Prefix(4096))));
        assertTrue(!HfTokenizer.splitsBeforeWords(json.readTree(SpecialTokensTest.sentencePieceTokenizer(true))), "SentencePiece is not byte-level");
        assertEquals(HfTokenizer.Pieces.AT_WORDS_SPACE_PREPENDED, HfTokenizer.piecesOf(json.readTree(SpecialTokensTest.sentencePieceTokenizer(true))));
        tokenizers.add(HfTokenizer.load(write("sp/tokenizer.json", SpecialTokensTest.sentencePieceTokenizer(false)), () -> 2));
        // a vocabulary with a token that joins a letter to a following "▁" can merge across the space: encoded whole
        var joining = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(SpecialTokensTest.sentencePieceTokenizer(false));
        ((com.fasterxml.jackson.databind.node.ObjectNode) joining.path("model").path("vocab")).put("o▁", 4000);
        assertEquals(HfTokenizer.Pieces.WHOLE, HfTokenizer.piecesOf(joining));
        // an added token that starts with a letter is matched before the "▁" is prepended: could begin a piece, encoded whole
        var lettered = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(SpecialTokensTest.sentencePieceTokenizer(false));
        ((com.fasterxml.jackson.databind.node.ArrayNode) lettered.path("added_tokens")).addObject().put("id", 4001).put("content", "Hello")
                .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", false);
        assertEquals(HfTokenizer.Pieces.WHOLE, HfTokenizer.piecesOf(lettered));
        java.util.SplittableRandom random = new java.util.SplittableRandom(0x5EED_0004L);
        String[] parts = {"whale", " whale", "  ", " ", "\n", "\n\n", "It's", " don't", "42", " 1234567", "café", " naïve", "世界", " 👋🏽",
                "e\u0301", ",", ". ", "—", "\t", "<|endoftext|>", "x=", "(", "))", "Ishmael", " I'm"};
        try {
            for (int trial = 0; trial < 60; trial++) {
                StringBuilder text = new StringBuilder();
                int words = 1 + random.nextInt(300);
                for (int k = 0; k < words; k++) text.append(parts[random.nextInt(parts.length)]);
                String t = trial == 0 ? SAMPLE.repeat(20) : text.toString();
                for (HfTokenizer tok : tokenizers) {
                    Tokenizer.Encoding whole = tok.encodeWithOffsets(t, Integer.MAX_VALUE);
                    for (int chunk : new int[] {1, 2, 5, 17, 64, 1000}) {
                        Tokenizer.Encoding pieces = tok.encodeWithOffsets(t, chunk);
                        assertArrayEquals(whole.ids(), pieces.ids(), "trial " + trial + ", pieces of " + chunk);
                        assertArrayEquals(whole.charStart(), pieces.charStart(), "trial " + trial + ", pieces of " + chunk);
                        assertArrayEquals(whole.charEnd(), pieces.charEnd(), "trial " + trial + ", pieces of " + chunk);
                    }
                }
            }
        } finally {
            for (HfTokenizer tok : tokenizers.subList(1, tokenizers.size())) tok.close();
        }
    }

    private static void assertInputError(String prefix, Runnable r) {
        InputException e = assertThrows(InputException.class, r::run);
        assertTrue(e.getMessage().startsWith(prefix), () -> "expected '" + prefix + "…', got '" + e.getMessage() + "'");
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
