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

    /**
     * Queries from JSON lines, one object per line with string fields {@code prompt} and
     * {@code completion} and optionally {@code id} (default q1, q2, …); blank lines are skipped.
     * {@code source} names the lines in messages (a file name).
     */
    public static java.util.List<Query> fromJsonLines(String source, java.util.List<String> lines, Tokenizer tokenizer, int context) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.List<Query> out = new java.util.ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            com.fasterxml.jackson.databind.JsonNode n;
            try {
                n = json.readTree(line);
            } catch (java.io.IOException e) {
                throw new InputException(source + ":" + (i + 1) + ": not valid JSON");
            }
            if (n == null || !n.path("prompt").isTextual() || !n.path("completion").isTextual())
                throw new InputException(source + ":" + (i + 1) + ": needs string fields \"prompt\" and \"completion\"");
            String id = n.path("id").isTextual() ? n.get("id").asText() : "q" + (out.size() + 1);
            out.add(of(id, n.get("prompt").asText(), n.get("completion").asText(), tokenizer, context));
        }
        if (out.isEmpty()) throw new InputException(source + ": no queries");
        return out;
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
