package dev.imprint.data;

import java.util.List;

/**
 * Where every token of a sequence comes from.
 *
 * @param sequence      the sequence index
 * @param pieces        the document pieces in token order; their token ranges tile [0, length)
 * @param tokenCharStart (length) for each token, the start of its text in its piece's document
 *                      (UTF-16 chars); an end-of-text token has the empty span at the document's end
 * @param tokenCharEnd  (length) the end (exclusive) of each token's text in its document
 */
public record Provenance(int sequence, List<Piece> pieces, int[] tokenCharStart, int[] tokenCharEnd) {
    public Provenance {
        pieces = List.copyOf(pieces);
        if (pieces.isEmpty()) throw new IllegalArgumentException("sequence " + sequence + " has no pieces");
        if (tokenCharStart.length != tokenCharEnd.length)
            throw new IllegalArgumentException("token span arrays differ in length");
        int t = 0;
        for (Piece p : pieces) {
            if (p.tokenStart() != t) throw new IllegalArgumentException("pieces of sequence " + sequence + " do not tile its tokens at " + t);
            t = p.tokenEnd();
        }
        if (t != tokenCharStart.length)
            throw new IllegalArgumentException("pieces of sequence " + sequence + " cover " + t + " tokens, not " + tokenCharStart.length);
    }

    /** Number of tokens in the sequence. */
    public int length() {
        return tokenCharStart.length;
    }

    /** The piece holding token position {@code t}. */
    public Piece pieceAt(int t) {
        if (t < 0 || t >= length()) throw new IndexOutOfBoundsException("position " + t + " outside [0, " + length() + ")");
        for (Piece p : pieces) if (t < p.tokenEnd()) return p;
        throw new AssertionError("unreachable: pieces tile the sequence");
    }
}
