package dev.imprint.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.influence.Query;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SentencePiece-style BPE tokenizer.json with byte fallback, in the layout of Llama 2, Mistral and
 * TinyLlama (a "▁" prepended and spaces replaced by it; bytes outside the vocabulary as
 * {@code <0xNN>}; a post-processor that puts {@code <s>} before a text), written here with a small
 * vocabulary; and the special-token rules of {@link HfTokenizer}: end of text from
 * tokenizer_config.json's {@code eos_token}, beginning of text from its {@code add_bos_token} or else
 * from the post-processor.
 */
class SpecialTokensTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int UNK = 0, BOS = 1, EOS = 2;
    /** Pieces after the 3 special tokens and the 256 byte tokens. */
    private static final List<String> PIECES = List.of("▁", "a", "b", "c", "h", "e", "l", "o", "w", "r", "d",
            "▁h", "▁he", "ll", "▁hell", "▁hello", "▁w", "or", "▁wor", "ld", "▁world");
    private static final List<String> MERGES = List.of("▁ h", "▁h e", "l l", "▁he ll", "▁hell o", "▁ w", "o r", "▁w or", "l d", "▁wor ld");

    @TempDir
    Path dir;

    private static int piece(String p) {
        return 3 + 256 + PIECES.indexOf(p);
    }

    private static int byteToken(int b) {
        return 3 + b;
    }

    /** A tokenizer.json; {@code template} makes its post-processor put {@code <s>} before a text. */
    static String sentencePieceTokenizer(boolean template) {
        ObjectNode root = JSON.createObjectNode().put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < specials.length; i++)
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode norms = normalizer.putArray("normalizers");
        norms.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = norms.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        if (template) {
            ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode s = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
            s.putArray("ids").add(BOS);
            s.putArray("tokens").add("<s>");
        } else {
            root.putNull("post_processor");
        }
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode space = decoders.addObject().put("type", "Replace");
        space.putObject("pattern").put("String", "▁");
        space.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model").put("type", "BPE").put("unk_token", "<unk>").put("fuse_unk", true)
                .put("byte_fallback", true);
        model.putNull("dropout");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < specials.length; i++) vocab.put(specials[i], i);
        for (int b = 0; b < 256; b++) vocab.put(String.format("<0x%02X>", b), byteToken(b));
        for (String p : PIECES) vocab.put(p, piece(p));
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode merges = model.putArray("merges");
        MERGES.forEach(merges::add);
        return root.toString();
    }

    private Path write(String name, boolean template, String tokenizerConfig) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("tokenizer.json"), sentencePieceTokenizer(template));
        if (tokenizerConfig != null) Files.writeString(d.resolve("tokenizer_config.json"), tokenizerConfig);
        return d.resolve("tokenizer.json");
    }

    @Test
    void sentencePieceWithByteFallbackEncodesSpansAndDecodes() throws IOException {
        try (HfTokenizer t = HfTokenizer.load(write("sp", true, null), () -> EOS)) {
            String text = "hello wörld €";
            Tokenizer.Encoding e = t.encodeWithOffsets(text);
            // ö and € are not pieces: their UTF-8 bytes are byte tokens
            assertArrayEquals(new int[] {piece("▁hello"), piece("▁w"), byteToken(0xC3), byteToken(0xB6), piece("r"), piece("ld"),
                    piece("▁"), byteToken(0xE2), byteToken(0x82), byteToken(0xAC)}, e.ids());
            // a character split over byte tokens belongs to the last of them; the prepended ▁ covers no text
            assertArrayEquals(new int[] {0, 5, 7, 7, 8, 9, 11, 12, 12, 12}, e.charStart());
            assertArrayEquals(new int[] {5, 7, 7, 8, 9, 11, 12, 12, 12, 13}, e.charEnd());
            assertEquals(text, t.decode(e.ids()));
            assertEquals(UNK, t.encode("<unk>")[0], "special tokens in the text are recognised");
        }
    }

    @Test
    void beginningOfTextComesFromThePostProcessorUnlessTokenizerConfigSays() throws IOException {
        try (HfTokenizer t = HfTokenizer.load(write("template", true, null), () -> EOS)) {
            assertEquals(OptionalInt.of(BOS), t.beginOfText(), "the template puts <s> first");
            assertEquals(EOS, t.endOfText(), "no tokenizer_config.json and no <|endoftext|>: the fallback");
        }
        try (HfTokenizer t = HfTokenizer.load(write("none", false, null), () -> EOS)) {
            assertEquals(OptionalInt.empty(), t.beginOfText(), "no post-processor: nothing first");
        }
        try (HfTokenizer t = HfTokenizer.load(write("off", true, "{\"add_bos_token\": false, \"eos_token\": \"</s>\"}"), () -> -1)) {
            assertEquals(OptionalInt.empty(), t.beginOfText(), "add_bos_token false overrides the template");
            assertEquals(EOS, t.endOfText(), "eos_token names end of text");
        }
        String llama2 = "{\"add_bos_token\": true, \"add_eos_token\": false, \"bos_token\": {\"__type\": \"AddedToken\", \"content\": \"<s>\"},"
                + " \"eos_token\": {\"content\": \"</s>\"}}";
        try (HfTokenizer t = HfTokenizer.load(write("on", false, llama2), () -> -1)) {
            assertEquals(OptionalInt.of(BOS), t.beginOfText(), "add_bos_token true: bos_token, written as an AddedToken object");
            assertEquals(EOS, t.endOfText());
        }
    }

    @Test
    void badSpecialTokenSettingsAreOneLine() throws IOException {
        Path unknownEos = write("eos", true, "{\"eos_token\": \"<|im_end|>\"}");
        InputException e = assertThrows(InputException.class, () -> HfTokenizer.load(unknownEos, () -> EOS));
        assertEquals(unknownEos.resolveSibling("tokenizer_config.json") + ": eos_token <|im_end|> is not in the vocabulary of " + unknownEos, e.getMessage());
        Path noBos = write("nobos", true, "{\"add_bos_token\": true}");
        e = assertThrows(InputException.class, () -> HfTokenizer.load(noBos, () -> EOS));
        assertTrue(e.getMessage().endsWith("tokenizer_config.json: add_bos_token is true but no bos_token is given"), e.getMessage());
        Path notBoolean = write("str", true, "{\"add_bos_token\": \"yes\"}");
        e = assertThrows(InputException.class, () -> HfTokenizer.load(notBoolean, () -> EOS));
        assertTrue(e.getMessage().endsWith("tokenizer_config.json: add_bos_token must be true or false, not \"yes\""), e.getMessage());
    }

    /** A query's prompt starts with beginning-of-text; its completion does not (method §1). */
    @Test
    void queriesStartWithBeginningOfText() throws IOException {
        try (HfTokenizer t = HfTokenizer.load(write("q", true, null), () -> EOS)) {
            Query q = Query.of("q1", "hello", " world", t, 16);
            assertArrayEquals(new int[] {BOS, piece("▁hello")}, q.promptTokens());
            assertArrayEquals(t.encode(" world"), q.completionTokens());
            assertEquals(t.encode(" world")[0], q.tokens()[2]);
        }
        try (HfTokenizer t = HfTokenizer.load(write("q0", false, null), () -> EOS)) {
            assertArrayEquals(new int[] {piece("▁hello")}, Query.of("q1", "hello", " world", t, 16).promptTokens());
        }
    }
}
