package dev.imprint.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;
import dev.imprint.io.JsonFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.IntSupplier;

/**
 * A Hugging Face {@code tokenizer.json}, run by the Rust {@code tokenizers} library through DJL (its
 * jar bundles the native library, so nothing is downloaded): byte-level BPE (GPT-2, GPT-NeoX,
 * Llama 3, Qwen2) and SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama).
 * {@link #encode} adds no special tokens and never truncates or pads; special tokens written in the
 * text (such as {@code <|endoftext|>}) are still recognised, as in HF.
 *
 * <p>The special tokens, read as {@code transformers} reads a model folder (method §1):
 * <ul>
 * <li>end of text (the document separator): {@code eos_token} of {@code tokenizer_config.json}
 * beside the tokenizer.json; else {@code <|endoftext|>}; else the caller's fallback (config.json's
 * {@code eos_token_id});
 * <li>beginning of text: when tokenizer_config.json sets {@code add_bos_token}, its
 * {@code bos_token} or none; otherwise the token that tokenizer.json's post-processor puts before a
 * text (Llama 3's template adds {@code <|begin_of_text|>}), found by encoding a probe text with and
 * without special tokens. Tokens a post-processor adds after a text ({@code add_eos_token}) are not
 * used: documents end with end-of-text anyway, and a query's completion is measured without one.
 * </ul>
 * Holds native memory: {@link #close()} it.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The file beside tokenizer.json that says which special tokens the model adds. */
    private static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    /** A text encoded with and without special tokens, to see what the post-processor adds. */
    private static final String PROBE = "a";
    /** The pre-tokenizer splits of Llama 3 and of Qwen2 (HF Split pre-tokenizers, followed by ByteLevel without its own regex). */
    private static final java.util.Set<String> WORD_SPLIT_REGEXES = java.util.Set.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final int vocabSize;
    private final int endOfText;
    private final OptionalInt beginOfText;
    /** How long texts may be encoded in pieces ({@link #piecesOf}). */
    private final Pieces pieces;

    /** How a long text may be encoded in pieces that give exactly the whole text's tokens. */
    enum Pieces {
        /** Only whole. */
        WHOLE,
        /** Cut before a space between letters; each piece encoded as it is (byte-level pre-tokenizers). */
        AT_WORDS,
        /**
         * Cut before a space between letters; a piece after the first is encoded without its space,
         * which the tokenizer's prepended "▁" stands for (SentencePiece-style BPE).
         */
        AT_WORDS_SPACE_PREPENDED
    }

    /**
     * Texts longer than this are encoded in pieces of about this many characters, when the
     * tokenizer allows it: the Rust library's encoding of a whole text takes memory many times the
     * text's size (a 50 MB document took gigabytes), a piece's only what the piece needs.
     */
    static final int CHUNK_CHARS = 1 << 18;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Path file, int vocabSize, int endOfText, OptionalInt beginOfText, Pieces pieces) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.vocabSize = vocabSize;
        this.endOfText = endOfText;
        this.beginOfText = beginOfText;
        this.pieces = pieces;
    }

    /** Loads a tokenizer.json whose vocabulary contains {@code <|endoftext|>}. */
    public static HfTokenizer load(Path tokenizerJson) {
        return load(tokenizerJson, () -> {
            throw new InputException(tokenizerJson + ": no <|endoftext|> token, and no eos_token_id was given");
        });
    }

    /**
     * Loads a tokenizer.json and the tokenizer_config.json beside it, if there is one (see the class
     * comment); {@code endOfTextIfAbsent} (for instance config.json's {@code eos_token_id}) is asked
     * only when neither names the end-of-text token.
     */
    public static HfTokenizer load(Path tokenizerJson, IntSupplier endOfTextIfAbsent) {
        JsonNode root = JsonFiles.readObject(tokenizerJson);
        Vocabulary v = Vocabulary.of(tokenizerJson, root);
        Path configFile = tokenizerJson.resolveSibling(TOKENIZER_CONFIG);
        JsonNode config = Files.isRegularFile(configFile) ? JsonFiles.readObject(configFile) : JSON.createObjectNode();
        String eosToken = tokenText(configFile, config, "eos_token");
        int eot;
        if (eosToken != null) {
            eot = v.idOf(eosToken);
            if (eot < 0) throw new InputException(configFile + ": eos_token " + eosToken + " is not in the vocabulary of " + tokenizerJson);
        } else {
            eot = v.idOf(ByteLevelBpe.END_OF_TEXT);
            if (eot < 0) eot = endOfTextIfAbsent.getAsInt();
        }
        if (eot < 0 || eot >= v.size)
            throw new InputException(tokenizerJson + ": end-of-text id " + eot + " is outside the vocabulary [0, " + v.size + ")");
        requireConsistentTemplates(tokenizerJson, root.path("post_processor"), v.size);
        JsonNode unk = root.path("model").path("unk_token");
        if (unk.isTextual() && root.path("model").path("vocab").isObject() && !root.path("model").path("vocab").has(unk.textValue()))
            throw new InputException(tokenizerJson + ": model.unk_token " + unk.textValue() + " is not in model.vocab");
        HuggingFaceTokenizer t;
        try {
            t = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build();
        } catch (IOException | RuntimeException e) {
            // The Rust library reports a tokenizer.json it cannot deserialize as a RuntimeException.
            throw new InputException(tokenizerJson + ": not a valid Hugging Face tokenizer (" + firstLine(e.getMessage()) + ")", e);
        }
        try {
            OptionalInt bos = beginOfText(tokenizerJson, t, configFile, config, v);
            return new HfTokenizer(t, tokenizerJson, v.size, eot, bos, piecesOf(root));
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /**
     * A template post-processor whose template names a special token it does not define, or gives
     * one an id outside the vocabulary, makes the Rust library panic when it encodes, and the panic
     * aborts the process: such a tokenizer.json is refused here, with one line (also inside a
     * Sequence of post-processors).
     */
    private static void requireConsistentTemplates(Path file, JsonNode processor, int vocabSize) {
        // by shape, not by "type": the Rust library also deserializes objects whose type it does not check
        for (JsonNode p : processor.path("processors")) requireConsistentTemplates(file, p, vocabSize);
        if (!processor.has("single") && !processor.has("pair") && !processor.has("special_tokens")) return;
        JsonNode specials = processor.path("special_tokens");
        for (var it = specials.fields(); it.hasNext(); ) {
            var e = it.next();
            for (JsonNode id : e.getValue().path("ids"))
                if (!id.canConvertToInt() || id.intValue() < 0 || id.intValue() >= vocabSize)
                    throw new InputException(file + ": post_processor special token " + e.getKey() + " has id " + id + ", outside the vocabulary [0, " + vocabSize + ")");
        }
        for (String template : new String[] {"single", "pair"})
            for (JsonNode piece : processor.path(template)) {
                JsonNode special = piece.path("SpecialToken");
                if (!special.isMissingNode() && !specials.has(special.path("id").asText()))
                    throw new InputException(file + ": post_processor." + template + " uses the special token " + special.path("id")
                            + ", which post_processor.special_tokens does not define");
            }
    }

    /** The beginning-of-text token: tokenizer_config.json's {@code add_bos_token} if set, else the post-processor's. */
    private static OptionalInt beginOfText(Path tokenizerJson, HuggingFaceTokenizer t, Path configFile, JsonNode config, Vocabulary v) {
        JsonNode add = config.path("add_bos_token");
        if (add.isBoolean()) {
            if (!add.booleanValue()) return OptionalInt.empty();
            String bos = tokenText(configFile, config, "bos_token");
            if (bos == null) throw new InputException(configFile + ": add_bos_token is true but no bos_token is given");
            int id = v.idOf(bos);
            if (id < 0) throw new InputException(configFile + ": bos_token " + bos + " is not in the vocabulary of " + tokenizerJson);
            return OptionalInt.of(id);
        }
        if (!add.isMissingNode() && !add.isNull()) throw new InputException(configFile + ": add_bos_token must be true or false, not " + add);
        // What the post-processor adds around a probe text: the ids before the plain encoding.
        long[] plain, full;
        try {
            plain = t.encode(PROBE, false, false).getIds();
            full = t.encode(PROBE, true, false).getIds();
        } catch (RuntimeException e) {
            throw new InputException(tokenizerJson + ": cannot encode text (" + firstLine(e.getMessage()) + ")", e);
        }
        for (int k = 0; k + plain.length <= full.length; k++) {
            if (!Arrays.equals(full, k, k + plain.length, plain, 0, plain.length)) continue;
            if (k == 0) return OptionalInt.empty();
            if (k == 1) return OptionalInt.of(Math.toIntExact(full[0]));
            throw new InputException(tokenizerJson + ": its post-processor puts " + k + " tokens before a text; Imprint supports one (a beginning-of-text token)");
        }
        throw new InputException(tokenizerJson + ": its post-processor changes a text's tokens rather than adding tokens around them");
    }

    /**
     * Whether encoding a text in pieces cut at {@link #wordStart word starts} gives exactly the whole
     * text's tokens: true for the byte-level pre-tokenizers of GPT-2 and GPT-NeoX (ByteLevel with its
     * regex) and of Llama 3 and Qwen2 (their Split regex, then ByteLevel), whose splits all start a
     * pre-token at a space followed by a letter when a letter precedes it (method §1.1); with no
     * normalizer, or only a Unicode normal form (which never joins a letter to a following space),
     * and no added token containing whitespace. SentencePiece-style tokenizers are handled by
     * {@link #prependsSpaceToWords}; pre-tokenizers that add a prefix space are encoded whole.
     */
    static Pieces piecesOf(JsonNode root) {
        if (splitsBeforeWords(root)) return Pieces.AT_WORDS;
        if (prependsSpaceToWords(root)) return Pieces.AT_WORDS_SPACE_PREPENDED;
        return Pieces.WHOLE;
    }

    /**
     * Whether a SentencePiece-style BPE (Llama 2, Mistral: a normalizer that prepends "▁" to the text
     * and replaces every space by "▁", no pre-tokenizer) never merges across a "▁" that follows a
     * letter: true when no token of its vocabulary has a "▁" after another character, so that a
     * space between letters always starts a token, and no added token starts with a letter. Then the text after such a space encodes, with
     * the "▁" the normalizer prepends, to the same tokens as in the whole text (method §1.1).
     */
    static boolean prependsSpaceToWords(JsonNode root) {
        JsonNode norms = root.path("normalizer").path("normalizers");
        if (!root.path("normalizer").path("type").asText().equals("Sequence") || norms.size() != 2) return false;
        JsonNode prepend = norms.get(0), replace = norms.get(1);
        if (!prepend.path("type").asText().equals("Prepend") || !prepend.path("prepend").asText().equals("▁")) return false;
        if (!replace.path("type").asText().equals("Replace") || !replace.path("pattern").path("String").asText().equals(" ")
                || !replace.path("content").asText().equals("▁")) return false;
        JsonNode pre = root.path("pre_tokenizer");
        if (!pre.isMissingNode() && !pre.isNull()) return false;
        JsonNode model = root.path("model");
        if (!model.path("type").asText().equals("BPE") || !model.path("vocab").isObject()) return false;
        JsonNode dropout = model.path("dropout");
        if (!dropout.isMissingNode() && !dropout.isNull()) return false;
        for (JsonNode added : root.path("added_tokens")) {
            String content = added.path("content").asText();
            if (content.chars().anyMatch(c -> Character.isWhitespace(c) || c == '▁')) return false;
            // an added token is matched before normalization, and the "▁" is prepended to each text
            // between added tokens: one starting with a letter could begin a piece, where the whole
            // text has a "▁" before it
            if (!content.isEmpty() && Character.isLetter(content.codePointAt(0))) return false;
        }
        for (var it = model.path("vocab").fieldNames(); it.hasNext(); ) {
            String token = it.next();
            int lead = 0;
            while (lead < token.length() && token.charAt(lead) == '▁') lead++;
            if (token.indexOf('▁', lead) >= 0) return false;
        }
        return true;
    }

    static boolean splitsBeforeWords(JsonNode root) {
        JsonNode normalizer = root.path("normalizer");
        if (!normalizer.isMissingNode() && !normalizer.isNull() && !normalizer.path("type").asText().matches("NF(K?)(C|D)")) return false;
        for (JsonNode added : root.path("added_tokens"))
            if (added.path("content").asText().chars().anyMatch(Character::isWhitespace)) return false;
        JsonNode pre = root.path("pre_tokenizer");
        return switch (pre.path("type").asText()) {
            case "ByteLevel" -> pre.path("use_regex").asBoolean(true) && !pre.path("add_prefix_space").asBoolean(false);
            case "Sequence" -> {
                JsonNode list = pre.path("pretokenizers");
                boolean split = list.size() == 2 && list.get(0).path("type").asText().equals("Split")
                        && WORD_SPLIT_REGEXES.contains(list.get(0).path("pattern").path("Regex").asText())
                        && list.get(0).path("behavior").asText().equals("Isolated") && !list.get(0).path("invert").asBoolean(false);
                yield split && list.get(1).path("type").asText().equals("ByteLevel") && !list.get(1).path("use_regex").asBoolean(true)
                        && !list.get(1).path("add_prefix_space").asBoolean(false);
            }
            default -> false;
        };
    }

    /**
     * Where the piece starting at {@code from} ends: the last word start at or before
     * {@code from + chunk} (a space with a letter before it and a letter after it), else the first
     * one after, else the end of the text.
     */
    static int wordStart(String text, int from, int chunk) {
        int limit = (int) Math.min(text.length(), (long) from + chunk);
        if (limit == text.length()) return limit;
        for (int i = limit; i > from + 1; i--) if (isWordStart(text, i)) return i;
        for (int i = limit + 1; i < text.length(); i++) if (isWordStart(text, i)) return i;
        return text.length();
    }

    private static boolean isWordStart(String text, int i) {
        return i > 0 && i + 1 < text.length() && text.charAt(i) == ' ' && Character.isLetter(text.codePointBefore(i))
                && Character.isLetter(text.codePointAt(i + 1));
    }

    /** A special token's text in tokenizer_config.json: a string, or an object with {@code content}; null when absent. */
    private static String tokenText(Path file, JsonNode config, String key) {
        JsonNode n = config.path(key);
        if (n.isMissingNode() || n.isNull()) return null;
        if (n.isTextual()) return n.textValue();
        if (n.path("content").isTextual()) return n.get("content").textValue();
        throw new InputException(file + ": " + key + " must be a string or an object with \"content\", not " + n);
    }

    /**
     * What Imprint needs from the JSON itself, which DJL does not expose: the id range and the ids of
     * named tokens (the model's vocabulary, then added_tokens, which win).
     */
    private record Vocabulary(int size, Map<String, Integer> ids, JsonNode vocab) {
        static Vocabulary of(Path file, JsonNode root) {
            JsonNode vocab = root.path("model").path("vocab");
            int size;
            if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {token: id}
                size = 0;
                for (JsonNode id : vocab) {
                    if (!id.canConvertToInt() || id.intValue() < 0) throw new InputException(file + ": model.vocab has a bad id " + id);
                    size = Math.max(size, id.intValue() + 1);
                }
            } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = position
                size = vocab.size();
            } else {
                throw new InputException(file + ": model.vocab is missing");
            }
            Map<String, Integer> added = new HashMap<>();
            for (JsonNode token : root.path("added_tokens")) {
                int id = token.path("id").asInt(-1);
                if (id < 0) throw new InputException(file + ": added_tokens entry without an id: " + token);
                size = Math.max(size, id + 1);
                added.put(token.path("content").asText(), id);
            }
            return new Vocabulary(size, added, vocab);
        }

        /** The id of the token with this text, or −1. */
        int idOf(String token) {
            Integer added = ids.get(token);
            if (added != null) return added;
            if (vocab.isObject()) return vocab.path(token).canConvertToInt() ? vocab.get(token).intValue() : -1;
            for (int i = 0; i < vocab.size(); i++) if (vocab.get(i).path(0).asText().equals(token)) return i;
            return -1;
        }
    }

    @Override
    public int[] encode(String text) {
        if (pieces != Pieces.WHOLE && text.length() > CHUNK_CHARS) return encodeWithOffsets(text).ids();
        return toInts(rustEncode(text).getIds());
    }

    /**
     * DJL's spans count Unicode code points (Rust chars); they are converted to UTF-16 indices here.
     * Byte-level BPE may split one character's UTF-8 bytes over several tokens, and HF then gives
     * each of them the whole character; it is given to the last of them (the one that completes it),
     * so spans never overlap. Gpt2BpeTokenizer assigns characters the same way.
     */
    @Override
    public Encoding encodeWithOffsets(String text) {
        return encodeWithOffsets(text, pieces != Pieces.WHOLE ? CHUNK_CHARS : Integer.MAX_VALUE);
    }

    /** The encoding of {@code text}, made from pieces of about {@code chunk} characters cut at word starts. */
    Encoding encodeWithOffsets(String text, int chunk) {
        if (text.length() <= chunk) return encodeWhole(text);
        int[] ids = new int[0], start = new int[0], end = new int[0];
        int n = 0;
        boolean dropSpace = pieces == Pieces.AT_WORDS_SPACE_PREPENDED;
        for (int from = 0; from < text.length(); ) {
            int to = wordStart(text, from, chunk);
            // a piece after the first starts at a space; with a prepended "▁" the space is left out and stands in that "▁"
            int skip = dropSpace && from > 0 ? 1 : 0;
            Encoding piece = encodeWhole(text.substring(from + skip, to));
            if (skip == 1 && piece.ids().length > 0 && piece.charStart()[0] == 0) piece.charStart()[0] = -1; // the "▁" token spans the space
            int m = piece.ids().length;
            if (n + m > ids.length) {
                int capacity = Math.max(n + m, ids.length + (ids.length >> 1));
                ids = Arrays.copyOf(ids, capacity);
                start = Arrays.copyOf(start, capacity);
                end = Arrays.copyOf(end, capacity);
            }
            System.arraycopy(piece.ids(), 0, ids, n, m);
            for (int k = 0; k < m; k++) {
                start[n + k] = piece.charStart()[k] + from + skip;
                end[n + k] = piece.charEnd()[k] + from + skip;
            }
            n += m;
            from = to;
        }
        return new Encoding(Arrays.copyOf(ids, n), Arrays.copyOf(start, n), Arrays.copyOf(end, n));
    }

    /**
     * The Rust library's encoding; what it reports as a RuntimeException (a tokenizer.json that
     * loads but cannot encode some text, e.g. an unk_token missing from its vocabulary) is the
     * tokenizer file's problem, named as such.
     */
    private ai.djl.huggingface.tokenizers.Encoding rustEncode(String text) {
        try {
            return tokenizer.encode(text, false, false);
        } catch (RuntimeException e) {
            throw new InputException(file + ": cannot encode text (" + firstLine(e.getMessage()) + ")", e);
        }
    }

    private Encoding encodeWhole(String text) {
        ai.djl.huggingface.tokenizers.Encoding e = rustEncode(text);
        int[] ids = toInts(e.getIds());
        CharSpan[] spans = e.getCharTokenSpans();
        int[] charIndex = charIndexOfCodePoint(text);
        int n = ids.length;
        int[] start = new int[n], end = new int[n];
        for (int i = 0; i < n; i++) {
            if (spans[i] == null) { // a token with no source text: an empty span where the previous one ended
                start[i] = end[i] = i == 0 ? 0 : end[i - 1];
            } else {
                start[i] = charIndex[spans[i].getStart()];
                end[i] = charIndex[spans[i].getEnd()];
            }
        }
        for (int i = 0; i + 1 < n; i++) end[i] = Math.max(start[i], Math.min(end[i], start[i + 1]));
        return new Encoding(ids, start, end);
    }

    /** (codePoints + 1): the UTF-16 index at which each code point of {@code text} starts, then text.length(). */
    private static int[] charIndexOfCodePoint(String text) {
        int[] index = new int[text.codePointCount(0, text.length()) + 1];
        int c = 0;
        for (int k = 0; k < index.length - 1; k++) {
            index[k] = c;
            c += Character.charCount(text.codePointAt(c));
        }
        index[index.length - 1] = text.length();
        return index;
    }

    @Override
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            // DJL decodes an unknown id as nothing; refuse instead.
            if (ids[i] < 0 || ids[i] >= vocabSize) throw new IllegalArgumentException("token id " + ids[i] + " is outside [0, " + vocabSize + ")");
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, false);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int endOfText() {
        return endOfText;
    }

    @Override
    public OptionalInt beginOfText() {
        return beginOfText;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    private static String firstLine(String message) {
        return message == null ? "no detail" : message.lines().findFirst().orElse("");
    }
}
