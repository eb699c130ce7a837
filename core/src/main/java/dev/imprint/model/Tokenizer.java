package dev.imprint.model;

/**
 * Text ↔ token ids for a model. Implementations: Hugging Face {@code tokenizer.json} (through DJL)
 * and GPT-2's byte-level BPE.
 */
public interface Tokenizer {
    /** Token ids of {@code text}, with no special tokens added. */
    int[] encode(String text);

    /** Token ids with, for each token, the character span [start, end) it covers in {@code text}. */
    Encoding encodeWithOffsets(String text);

    /** The text of a sequence of ids. */
    String decode(int[] ids);

    /** Number of ids (the model's vocabulary must be at least this large). */
    int vocabSize();

    /** Id of the end-of-text token that separates documents. */
    int endOfText();

    /** Ids with character spans; {@code charStart[i]..charEnd[i]} is token i's text in the source string. */
    record Encoding(int[] ids, int[] charStart, int[] charEnd) {
        public Encoding {
            if (ids.length != charStart.length || ids.length != charEnd.length)
                throw new IllegalArgumentException("encoding arrays differ in length");
        }
    }
}
