package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.model.Tokenizer;

/**
 * A query: a prompt and the completion whose log-probability is measured (method §1). The two are
 * tokenized separately and concatenated, so the completion's first token starts a new token.
 *
 * @param id               a name for reports
 * @param prompt           the conditioning text (inputs only, never targets)
 * @param completion       the measured text
 * @param promptTokens     token ids of the prompt (at least one)
 * @param completionTokens token ids of the completion (at least one)
 */
public record Query(String id, String prompt, String completion, int[] promptTokens, int[] completionTokens) {
    public Query {
        if (promptTokens.length < 1) throw new InputException("query " + id + ": the prompt is empty (it needs at least one token)");
        if (completionTokens.length < 1) throw new InputException("query " + id + ": the completion is empty");
    }

    /** Tokenizes a query and checks it fits the model's context of {@code context} tokens. */
    public static Query of(String id, String prompt, String completion, Tokenizer tokenizer, int context) {
        Query q = new Query(id, prompt, completion, tokenizer.encode(prompt), tokenizer.encode(completion));
        if (q.length() > context)
            throw new InputException("query " + id + ": prompt + completion are " + q.length() + " tokens, more than the model context of " + context);
        return q;
    }

    /** Prompt then completion. */
    public int[] tokens() {
        int[] t = new int[length()];
        System.arraycopy(promptTokens, 0, t, 0, promptTokens.length);
        System.arraycopy(completionTokens, 0, t, promptTokens.length, completionTokens.length);
        return t;
    }

    public int length() {
        return promptTokens.length + completionTokens.length;
    }
}
