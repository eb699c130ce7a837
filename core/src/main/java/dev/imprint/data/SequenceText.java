package dev.imprint.data;

/**
 * The original text of a sequence with each token's place in it: the texts of its pieces in order,
 * each document end shown by the end-of-text token's text (e.g. {@code <|endoftext|>}).
 *
 * @param text       the sequence's text
 * @param tokenStart (length) start of token t's text in {@code text}
 * @param tokenEnd   (length) end (exclusive) of token t's text; tokens that share characters (several
 *                   byte-level tokens of one character) share a span
 */
public record SequenceText(String text, int[] tokenStart, int[] tokenEnd) {
    public SequenceText {
        if (tokenStart.length != tokenEnd.length) throw new IllegalArgumentException("token span arrays differ in length");
        for (int t = 0; t < tokenStart.length; t++)
            if (tokenStart[t] < 0 || tokenEnd[t] < tokenStart[t] || tokenEnd[t] > text.length())
                throw new IllegalArgumentException("token " + t + " span [" + tokenStart[t] + ", " + tokenEnd[t] + ") outside the text of " + text.length() + " chars");
    }

    /** The text of token t. */
    public String token(int t) {
        return text.substring(tokenStart[t], tokenEnd[t]);
    }
}
