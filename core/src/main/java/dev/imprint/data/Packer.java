package dev.imprint.data;

import dev.imprint.InputException;
import dev.imprint.model.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * Tokenizes documents one at a time and cuts them into sequences ({@link Packing}), keeping for
 * every sequence where each token came from. Memory is one sequence plus one document's encoding.
 */
final class Packer {
    /**
     * One finished sequence.
     *
     * @param tokens    (n) token ids, n ≤ seqLen
     * @param charStart (n) each token's start in its document
     * @param charEnd   (n) each token's end in its document
     * @param pieces    the document pieces, in token order
     */
    record Sequence(int[] tokens, int[] charStart, int[] charEnd, List<Piece> pieces) {}

    private final Tokenizer tokenizer;
    private final int seqLen;
    private final Packing packing;
    private final Consumer<Sequence> sink;
    private final int endOfText;
    private final OptionalInt beginOfText;
    // the sequence being filled: (seqLen) each
    private final int[] tokens, charStart, charEnd;
    private final List<Piece> pieces = new ArrayList<>();
    private int fill;

    Packer(Tokenizer tokenizer, int seqLen, Packing packing, Consumer<Sequence> sink) {
        if (seqLen < 2) throw new IllegalArgumentException("sequence length " + seqLen + " is below 2");
        this.tokenizer = tokenizer;
        this.seqLen = seqLen;
        this.packing = packing;
        this.sink = sink;
        this.endOfText = tokenizer.endOfText();
        this.beginOfText = tokenizer.beginOfText();
        this.tokens = new int[seqLen];
        this.charStart = new int[seqLen];
        this.charEnd = new int[seqLen];
    }

    /**
     * Tokenizes document {@code index} and returns its token count (without beginning- and
     * end-of-text). A tokenizer with a beginning-of-text token has it put before the document, with
     * the empty span at the document's start (method §1).
     */
    int add(int index, Document doc) {
        String text = doc.text();
        Tokenizer.Encoding enc = tokenizer.encodeWithOffsets(text);
        int n = enc.ids().length;
        for (int j = 0; j < n; j++) {
            if (enc.charStart()[j] < 0 || enc.charStart()[j] > enc.charEnd()[j] || enc.charEnd()[j] > text.length())
                throw new IllegalStateException("tokenizer gave token " + j + " of document " + doc.id() + " the span ["
                        + enc.charStart()[j] + ", " + enc.charEnd()[j] + ") outside its " + text.length() + " chars");
        }
        if (beginOfText.isPresent()) enc = withBeginOfText(enc, beginOfText.getAsInt());
        switch (packing) {
            case Packing.Concatenate c -> concatenate(index, text, enc);
            case Packing.PerDocument p -> perDocument(index, doc, enc, p.truncate());
        }
        return n;
    }

    private static Tokenizer.Encoding withBeginOfText(Tokenizer.Encoding enc, int id) {
        int n = enc.ids().length;
        int[] ids = new int[n + 1], start = new int[n + 1], end = new int[n + 1];
        ids[0] = id;
        System.arraycopy(enc.ids(), 0, ids, 1, n);
        System.arraycopy(enc.charStart(), 0, start, 1, n);
        System.arraycopy(enc.charEnd(), 0, end, 1, n);
        return new Tokenizer.Encoding(ids, start, end);
    }

    /** Emits the last, possibly shorter, sequence. */
    void finish() {
        if (fill > 0) emit();
    }

    /* Document tokens j = 0..n-1, then end-of-text as j = n; each pass of the loop fills the current
       sequence as far as it goes and records that stretch as one piece. */
    private void concatenate(int index, String text, Tokenizer.Encoding enc) {
        int n = enc.ids().length, j = 0, cursor = 0;
        while (j <= n) {
            int start = fill, take = Math.min(seqLen - fill, n + 1 - j);
            for (int k = j; k < j + take; k++) put(enc, k, text.length());
            j += take;
            // the piece's text runs up to where the next piece's first token starts
            int end = j >= n ? text.length() : boundary(text, Math.max(cursor, enc.charStart()[j]));
            pieces.add(new Piece(index, start, fill, cursor, end, j == n + 1));
            cursor = end;
            if (fill == seqLen) emit();
        }
    }

    private void perDocument(int index, Document doc, Tokenizer.Encoding enc, boolean truncate) {
        int n = enc.ids().length;
        String text = doc.text();
        if (n + 1 <= seqLen) {
            for (int k = 0; k <= n; k++) put(enc, k, text.length());
            pieces.add(new Piece(index, 0, fill, 0, text.length(), true));
        } else if (truncate) {
            for (int k = 0; k < seqLen; k++) put(enc, k, text.length());
            int end = seqLen < n ? boundary(text, enc.charStart()[seqLen]) : text.length();
            pieces.add(new Piece(index, 0, fill, 0, end, false));
        } else {
            throw new InputException("document " + doc.id() + ": " + (n + 1) + " tokens with its " + (beginOfText.isPresent() ? "beginning- and end-of-text tokens" : "end-of-text token") + " exceed the sequence length of "
                    + seqLen + " (choose truncation or concatenation)");
        }
        emit();
    }

    /** Appends document token k (k == n: end-of-text, the empty span at the document's end). */
    private void put(Tokenizer.Encoding enc, int k, int textLength) {
        boolean eot = k == enc.ids().length;
        tokens[fill] = eot ? endOfText : enc.ids()[k];
        charStart[fill] = eot ? textLength : enc.charStart()[k];
        charEnd[fill] = eot ? textLength : enc.charEnd()[k];
        fill++;
    }

    /** A cut position that does not split a surrogate pair. */
    private static int boundary(String text, int pos) {
        if (pos > 0 && pos < text.length() && Character.isLowSurrogate(text.charAt(pos)) && Character.isHighSurrogate(text.charAt(pos - 1)))
            return pos + 1;
        return pos;
    }

    private void emit() {
        sink.accept(new Sequence(Arrays.copyOf(tokens, fill), Arrays.copyOf(charStart, fill), Arrays.copyOf(charEnd, fill), List.copyOf(pieces)));
        pieces.clear();
        fill = 0;
    }
}
