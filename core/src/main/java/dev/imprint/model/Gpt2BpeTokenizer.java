package dev.imprint.model;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * GPT-2's byte-level BPE (tiktoken's {@code r50k_base}, through jtokkit), needing no tokenizer file.
 * As in Hugging Face's GPT-2 tokenizer, {@code <|endoftext|>} written in the text is the special
 * token 50256, and everything between such markers is encoded as ordinary text.
 */
public final class Gpt2BpeTokenizer implements Tokenizer {
    private static final int END_OF_TEXT = ByteLevelBpe.GPT2_VOCAB_SIZE - 1;

    private final com.knuddels.jtokkit.api.Encoding bpe = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    /** (V) UTF-8 length of each token. */
    private final int[] tokenBytes = new int[ByteLevelBpe.GPT2_VOCAB_SIZE];

    public Gpt2BpeTokenizer() {
        IntArrayList one = new IntArrayList(1);
        one.add(0);
        for (int id = 0; id < tokenBytes.length; id++) {
            one.set(0, id);
            tokenBytes[id] = bpe.decodeBytes(one).length;
        }
    }

    @Override
    public int[] encode(String text) {
        IntArrayList ids = new IntArrayList();
        int from = 0;
        for (int at; (at = text.indexOf(ByteLevelBpe.END_OF_TEXT, from)) >= 0; from = at + ByteLevelBpe.END_OF_TEXT.length()) {
            append(ids, bpe.encodeOrdinary(text.substring(from, at)));
            ids.add(END_OF_TEXT);
        }
        append(ids, bpe.encodeOrdinary(text.substring(from)));
        return ids.toArray();
    }

    private static void append(IntArrayList to, IntArrayList from) {
        for (int i = 0; i < from.size(); i++) to.add(from.get(i));
    }

    /**
     * The tokens' bytes concatenate to the text's UTF-8 bytes, so token i ends after the characters
     * completed by its last byte. A character whose bytes are split over several tokens thus belongs
     * to the token holding its last byte; the tokens before it get empty spans. Spans tile the text.
     */
    @Override
    public Encoding encodeWithOffsets(String text) {
        int[] ids = encode(text);
        int[] charEnd = charEndAfterByte(text);
        int[] start = new int[ids.length], end = new int[ids.length];
        int bytes = 0;
        for (int i = 0; i < ids.length; i++) {
            bytes += tokenBytes[ids[i]];
            start[i] = i == 0 ? 0 : end[i - 1];
            end[i] = charEnd[bytes];
        }
        if (bytes != charEnd.length - 1)
            throw new IllegalStateException("tokens hold " + bytes + " bytes, the text " + (charEnd.length - 1));
        return new Encoding(ids, start, end);
    }

    /**
     * (UTF-8 bytes + 1): for each byte count b, the UTF-16 length of the whole characters within the
     * text's first b bytes. An unpaired surrogate counts as the one byte '?' that Java's encoder writes.
     */
    static int[] charEndAfterByte(String text) {
        int[] out = new int[text.getBytes(StandardCharsets.UTF_8).length + 1];
        int b = 0;
        for (int c = 0; c < text.length(); ) {
            int cp = text.codePointAt(c);
            int len = utf8Length(cp);
            for (int k = 1; k < len; k++) out[b + k] = c;
            b += len;
            c += Character.charCount(cp);
            out[b] = c;
        }
        return out;
    }

    private static int utf8Length(int codePoint) {
        boolean unpairedSurrogate = codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE;
        if (codePoint < 0x80 || unpairedSurrogate) return 1;
        return codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= tokenBytes.length) throw new IllegalArgumentException("token id " + id + " is outside [0, " + tokenBytes.length + ")");
            list.add(id);
        }
        // Malformed UTF-8 (a sequence cut inside a character) becomes U+FFFD, as in HF's ByteLevel decoder.
        return new String(bpe.decodeBytes(list), StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return tokenBytes.length;
    }

    @Override
    public int endOfText() {
        return END_OF_TEXT;
    }

    /** GPT-2 puts no token before a text. */
    @Override
    public OptionalInt beginOfText() {
        return OptionalInt.empty();
    }
}
