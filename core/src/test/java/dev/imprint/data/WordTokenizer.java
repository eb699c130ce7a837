package dev.imprint.data;

import dev.imprint.model.Tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test tokenizer: one token per whitespace-separated word from a fixed vocabulary (id 0 = end of
 * text, 1 = unknown word; optionally a last id for beginning of text). Whitespace belongs to no
 * token, so token spans leave gaps.
 */
final class WordTokenizer implements Tokenizer {
    static final String EOT_TEXT = "<eot>";
    private final List<String> words = new ArrayList<>(List.of(EOT_TEXT, "<unk>"));
    private final Map<String, Integer> ids = new HashMap<>();

    private final java.util.OptionalInt beginOfText;

    WordTokenizer(List<String> vocabulary) {
        this(vocabulary, false);
    }

    /** With {@code beginOfText}, the id after the vocabulary's is a beginning-of-text token {@code <bos>}. */
    WordTokenizer(List<String> vocabulary, boolean beginOfText) {
        for (String w : vocabulary) {
            ids.put(w, words.size());
            words.add(w);
        }
        if (beginOfText) words.add("<bos>");
        this.beginOfText = beginOfText ? java.util.OptionalInt.of(words.size() - 1) : java.util.OptionalInt.empty();
    }

    @Override
    public int[] encode(String text) {
        return encodeWithOffsets(text).ids();
    }

    @Override
    public Encoding encodeWithOffsets(String text) {
        List<int[]> spans = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            while (i < text.length() && Character.isWhitespace(text.charAt(i))) i++;
            int s = i;
            while (i < text.length() && !Character.isWhitespace(text.charAt(i))) i++;
            if (i > s) spans.add(new int[] {s, i});
        }
        int[] out = new int[spans.size()], start = new int[spans.size()], end = new int[spans.size()];
        for (int k = 0; k < spans.size(); k++) {
            start[k] = spans.get(k)[0];
            end[k] = spans.get(k)[1];
            out[k] = ids.getOrDefault(text.substring(start[k], end[k]), 1);
        }
        return new Encoding(out, start, end);
    }

    @Override
    public String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) {
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(words.get(t));
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return words.size();
    }

    @Override
    public int endOfText() {
        return 0;
    }

    @Override
    public java.util.OptionalInt beginOfText() {
        return beginOfText;
    }
}
