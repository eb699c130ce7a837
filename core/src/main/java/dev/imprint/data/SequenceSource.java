package dev.imprint.data;

import dev.imprint.model.SequenceBatch;

/** Training sequences addressed by index (a sequence store, or an in-memory list in tests). */
public interface SequenceSource {
    /** Number of sequences. */
    int size();

    /** The sequences at {@code indices}, padded to the longest. */
    SequenceBatch batch(int[] indices);
}
