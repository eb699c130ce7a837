package dev.imprint.model;

import java.util.OptionalInt;

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

    /**
     * Id of the token the model's tokenizer puts before every text (Llama 2's {@code <s>}, Llama 3's
     * {@code <|begin_of_text|>}), or empty when it puts none (GPT-2, GPT-NeoX, Qwen2). Imprint puts
     * it before every corpus document and every query prompt (method §1).
     */
    OptionalInt beginOfText();

    /** Ids with character spans; {@code charStart[i]..charEnd[i]} is token i's text in the source string. */
    record Encoding(int[] ids, int[] charStart, int[] charEnd) {
        public Encoding {
            if (ids.length != charStart.length || ids.length != charEnd.length)
                throw new IllegalArgumentException("encoding arrays differ in length");
        }
    }
}
