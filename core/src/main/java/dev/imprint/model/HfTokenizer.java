package dev.imprint.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.InputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.IntSupplier;

/**
 * A Hugging Face {@code tokenizer.json}, run by the Rust {@code tokenizers} library through DJL (its
 * jar bundles the native library, so nothing is downloaded). Encoding adds no special tokens and
 * never truncates or pads; special tokens written in the text (such as {@code <|endoftext|>}) are
 * still recognised, as in HF. Holds native memory: {@link #close()} it.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final int endOfText;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, int endOfText) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.endOfText = endOfText;
    }

    /** Loads a tokenizer.json whose vocabulary contains {@code <|endoftext|>}. */
    public static HfTokenizer load(Path tokenizerJson) {
        return load(tokenizerJson, () -> {
            throw new InputException(tokenizerJson + ": no <|endoftext|> token, and no eos_token_id was given");
        });
    }

    /**
     * Loads a tokenizer.json; the end-of-text id is {@code <|endoftext|>}'s, or else
     * {@code endOfTextIfAbsent}'s (for instance config.json's {@code eos_token_id}), asked only then.
     */
    public static HfTokenizer load(Path tokenizerJson, IntSupplier endOfTextIfAbsent) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(tokenizerJson));
        } catch (NoSuchFileException e) {
            throw InputException.notFound(tokenizerJson + ": no such file");
        } catch (JsonProcessingException e) {
            throw new InputException(tokenizerJson + ": malformed JSON (" + firstLine(e.getOriginalMessage()) + ")", e);
        } catch (IOException e) {
            throw new InputException(tokenizerJson + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new InputException(tokenizerJson + ": not a JSON object");
        Vocabulary v = Vocabulary.of(tokenizerJson, root);
        int eot = v.endOfText >= 0 ? v.endOfText : endOfTextIfAbsent.getAsInt();
        if (eot < 0 || eot >= v.size)
            throw new InputException(tokenizerJson + ": end-of-text id " + eot + " is outside the vocabulary [0, " + v.size + ")");
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build();
            return new HfTokenizer(t, v.size, eot);
        } catch (IOException | RuntimeException e) {
            // The Rust library reports a tokenizer.json it cannot deserialize as a RuntimeException.
            throw new InputException(tokenizerJson + ": not a valid Hugging Face tokenizer (" + firstLine(e.getMessage()) + ")", e);
        }
    }

    /**
     * What Imprint needs from the JSON itself, which DJL does not expose: the id range and the id of
     * {@code <|endoftext|>} (−1 when the vocabulary has none).
     */
    private record Vocabulary(int size, int endOfText) {
        static Vocabulary of(Path file, JsonNode root) {
            JsonNode vocab = root.path("model").path("vocab");
            int size, eot = -1;
            if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {token: id}
                size = 0;
                for (JsonNode id : vocab) {
                    if (!id.canConvertToInt() || id.intValue() < 0) throw new InputException(file + ": model.vocab has a bad id " + id);
                    size = Math.max(size, id.intValue() + 1);
                }
                if (vocab.path(ByteLevelBpe.END_OF_TEXT).canConvertToInt()) eot = vocab.get(ByteLevelBpe.END_OF_TEXT).intValue();
            } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = position
                size = vocab.size();
                for (int i = 0; i < vocab.size(); i++) if (vocab.get(i).path(0).asText().equals(ByteLevelBpe.END_OF_TEXT)) eot = i;
            } else {
                throw new InputException(file + ": model.vocab is missing");
            }
            for (JsonNode added : root.path("added_tokens")) {
                int id = added.path("id").asInt(-1);
                if (id < 0) throw new InputException(file + ": added_tokens entry without an id: " + added);
                size = Math.max(size, id + 1);
                if (added.path("content").asText().equals(ByteLevelBpe.END_OF_TEXT)) eot = id;
            }
            return new Vocabulary(size, eot);
        }
    }

    @Override
    public int[] encode(String text) {
        return toInts(tokenizer.encode(text, false, false).getIds());
    }

    /**
     * DJL's spans count Unicode code points (Rust chars); they are converted to UTF-16 indices here.
     * Byte-level BPE may split one character's UTF-8 bytes over several tokens, and HF then gives
     * each of them the whole character; it is given to the last of them (the one that completes it),
     * so spans never overlap. Gpt2BpeTokenizer assigns characters the same way.
     */
    @Override
    public Encoding encodeWithOffsets(String text) {
        ai.djl.huggingface.tokenizers.Encoding e = tokenizer.encode(text, false, false);
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
