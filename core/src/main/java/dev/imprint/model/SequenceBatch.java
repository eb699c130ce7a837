package dev.imprint.model;

import java.util.Arrays;

/**
 * B token sequences of padded length T, row-major. Positions {@code t >= lengths[b]} are padding:
 * they never attend, never carry loss, and their tap rows are zero.
 *
 * @param batchSize B
 * @param seqLen    T
 * @param tokens    (B·T) token ids; padding positions hold any valid id (0 by convention)
 * @param lengths   (B) number of real tokens of each sequence, 1 ≤ lengths[b] ≤ T
 */
public record SequenceBatch(int batchSize, int seqLen, int[] tokens, int[] lengths) {
    public SequenceBatch {
        if (batchSize <= 0 || seqLen <= 0) throw new IllegalArgumentException("batch shape " + batchSize + "x" + seqLen);
        if (tokens.length != batchSize * seqLen)
            throw new IllegalArgumentException("tokens has " + tokens.length + " entries, expected " + batchSize * seqLen);
        if (lengths.length != batchSize) throw new IllegalArgumentException("lengths has " + lengths.length + " entries, expected " + batchSize);
        for (int len : lengths)
            if (len < 1 || len > seqLen) throw new IllegalArgumentException("sequence length " + len + " outside [1, " + seqLen + "]");
    }

    /** One unpadded sequence. */
    public static SequenceBatch of(int[] tokens) {
        return new SequenceBatch(1, tokens.length, tokens.clone(), new int[] {tokens.length});
    }

    /** Pads sequences of different lengths to the longest (or to {@code seqLen} when larger). */
    public static SequenceBatch pad(int[][] sequences, int seqLen) {
        int t = seqLen;
        for (int[] s : sequences) t = Math.max(t, s.length);
        int[] tokens = new int[sequences.length * t];
        int[] lengths = new int[sequences.length];
        for (int b = 0; b < sequences.length; b++) {
            System.arraycopy(sequences[b], 0, tokens, b * t, sequences[b].length);
            lengths[b] = sequences[b].length;
        }
        return new SequenceBatch(sequences.length, t, tokens, lengths);
    }

    /** Total number of real (non-padding) tokens. */
    public int realTokens() {
        return Arrays.stream(lengths).sum();
    }

    /** Whether position t of sequence b is a real token. */
    public boolean valid(int b, int t) {
        return t < lengths[b];
    }
}
