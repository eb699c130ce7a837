package dev.imprint.data;

import dev.imprint.model.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Test tokenizer: one token per UTF-8 byte (ids 0..255), end-of-text = vocabSize − 1. The tokens of
 * one multi-byte character all carry that character's span, like byte-level BPE offsets do.
 */
public final class ByteTokenizer implements Tokenizer {
    static final String EOT_TEXT = "<|endoftext|>";
    private final int vocabSize;

    public ByteTokenizer() {
        this(257);
    }

    ByteTokenizer(int vocabSize) {
        if (vocabSize < 257) throw new IllegalArgumentException("vocabulary below 257");
        this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text) {
        return encodeWithOffsets(text).ids();
    }

    @Override
    public Encoding encodeWithOffsets(String text) {
        int n = text.getBytes(StandardCharsets.UTF_8).length;
        int[] ids = new int[n], start = new int[n], end = new int[n];
        int k = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i), chars = Character.charCount(cp);
            for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                ids[k] = b & 0xff;
                start[k] = i;
                end[k] = i + chars;
                k++;
            }
            i += chars;
        }
        return new Encoding(ids, start, end);
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            if (id == endOfText()) {
                out.append(bytes.toString(StandardCharsets.UTF_8)).append(EOT_TEXT);
                bytes.reset();
            } else {
                bytes.write(id);
            }
        }
        return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int endOfText() {
        return vocabSize - 1;
    }

    @Override
    public java.util.OptionalInt beginOfText() {
        return java.util.OptionalInt.empty();
    }
}
