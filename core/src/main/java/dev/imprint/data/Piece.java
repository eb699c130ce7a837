package dev.imprint.data;

/**
 * The part of one document inside one sequence. The pieces of a document, taken over all the
 * sequences it spans, partition its text: their character spans are adjacent and cover it exactly.
 *
 * @param document     document index in the store (0-based, corpus order)
 * @param tokenStart   first token position inside the sequence
 * @param tokenEnd     one past the last token position (includes the end-of-text token when
 *                     {@code endsDocument})
 * @param charStart    start of the piece's text in the document (UTF-16 chars)
 * @param charEnd      end (exclusive) of the piece's text in the document
 * @param endsDocument whether the document's end-of-text token is the piece's last token
 */
public record Piece(int document, int tokenStart, int tokenEnd, int charStart, int charEnd, boolean endsDocument) {
    public Piece {
        if (document < 0) throw new IllegalArgumentException("document index " + document + " is negative");
        if (tokenStart < 0 || tokenEnd <= tokenStart)
            throw new IllegalArgumentException("piece token range [" + tokenStart + ", " + tokenEnd + ") is empty or negative");
        if (charStart < 0 || charEnd < charStart)
            throw new IllegalArgumentException("piece char span [" + charStart + ", " + charEnd + ") is negative");
    }

    /** Number of tokens. */
    public int tokens() {
        return tokenEnd - tokenStart;
    }
}
