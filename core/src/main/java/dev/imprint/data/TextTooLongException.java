package dev.imprint.data;

import dev.imprint.InputException;

/** A text (a query, a prompt) that does not fit in the model's context window. */
public final class TextTooLongException extends InputException {
    private final int tokens;
    private final int context;

    /** "{@code what}: text of N tokens exceeds the model context of T". */
    public TextTooLongException(String what, int tokens, int context) {
        super(what + ": text of " + tokens + " tokens exceeds the model context of " + context);
        this.tokens = tokens;
        this.context = context;
    }

    /** Throws when {@code tokens > context}. */
    public static void check(String what, int tokens, int context) {
        if (tokens > context) throw new TextTooLongException(what, tokens, context);
    }

    public int tokens() {
        return tokens;
    }

    public int context() {
        return context;
    }
}
