package dev.imprint.influence;

import dev.imprint.InputException;
import dev.imprint.model.Tokenizer;

/**
 * A query: a prompt and the completion whose log-probability is measured (method §1). The two are
 * tokenized separately and concatenated, so the completion's first token starts a new token; a
 * tokenizer's beginning-of-text token, if it has one, starts the prompt's tokens.
 *
 * @param id               a name for reports: printable (no control characters), at most 200 characters
 * @param prompt           the conditioning text (inputs only, never targets)
 * @param completion       the measured text
 * @param promptTokens     token ids of the prompt (at least one)
 * @param completionTokens token ids of the completion (at least one)
 */
public record Query(String id, String prompt, String completion, int[] promptTokens, int[] completionTokens) {
    public Query {
        if (id.isBlank()) throw new InputException("a query id is empty");
        if (id.length() > MAX_ID_LENGTH) throw new InputException("query id " + quoted(id.substring(0, 40)) + "… is longer than " + MAX_ID_LENGTH + " characters");
        int bad = firstUnprintable(id);
        if (bad >= 0) throw new InputException("query id " + quoted(id) + " contains " + describe(id, bad) + "; ids must be printable");
        requireValidUnicode(id, "prompt", prompt);
        requireValidUnicode(id, "completion", completion);
        if (promptTokens.length < 1) throw new InputException("query " + id + ": the prompt is empty (it needs at least one token)");
        if (completionTokens.length < 1) throw new InputException("query " + id + ": the completion is empty");
    }

    private static final int MAX_ID_LENGTH = 200;

    /** Index of the first control character or unpaired surrogate in {@code s}, or −1. */
    private static int firstUnprintable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || unpairedSurrogate(s, i)) return i;
        }
        return -1;
    }

    private static boolean unpairedSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
        if (Character.isLowSurrogate(c)) return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
        return false;
    }

    /** Prompts and completions may hold any text (newlines, tabs), but it must be Unicode: no unpaired surrogate. */
    private static void requireValidUnicode(String id, String field, String text) {
        for (int i = 0; i < text.length(); i++)
            if (unpairedSurrogate(text, i))
                throw new InputException("query " + quoted(id) + ": the " + field + " contains " + describe(text, i) + "; text must be valid Unicode");
    }

    private static String describe(String s, int i) {
        String kind = Character.isSurrogate(s.charAt(i)) ? "an unpaired surrogate" : "a control character";
        return String.format("%s (U+%04X) at character %d", kind, (int) s.charAt(i), i + 1);
    }

    /** {@code s} in quotes with control characters and unpaired surrogates written as backslash-u escapes, safe for one terminal line. */
    private static String quoted(String s) {
        StringBuilder out = new StringBuilder("'");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || unpairedSurrogate(s, i)) out.append(String.format("\\u%04X", (int) c));
            else out.append(c);
        }
        return out.append('\'').toString();
    }

    /** Tokenizes a query and checks it fits the model's context of {@code context} tokens. */
    public static Query of(String id, String prompt, String completion, Tokenizer tokenizer, int context) {
        int[] promptTokens = tokenizer.encode(prompt);
        if (tokenizer.beginOfText().isPresent()) {
            int[] withBos = new int[promptTokens.length + 1];
            withBos[0] = tokenizer.beginOfText().getAsInt();
            System.arraycopy(promptTokens, 0, withBos, 1, promptTokens.length);
            promptTokens = withBos;
        }
        Query q = new Query(id, prompt, completion, promptTokens, tokenizer.encode(completion));
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
        java.util.Map<String, Integer> lineOfId = new java.util.HashMap<>();
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
            if (!n.path("id").isMissingNode() && !n.path("id").isTextual())
                throw new InputException(source + ":" + (i + 1) + ": \"id\" must be a string");
            String id = n.path("id").isTextual() ? n.get("id").asText() : "q" + (out.size() + 1);
            Integer earlier = lineOfId.putIfAbsent(id, i + 1);
            if (earlier != null) throw new InputException(source + ":" + (i + 1) + ": query id " + quoted(id) + " is already used on line " + earlier);
            try {
                out.add(of(id, n.get("prompt").asText(), n.get("completion").asText(), tokenizer, context));
            } catch (InputException e) {
                throw new InputException(source + ":" + (i + 1) + ": " + e.getMessage(), e);
            }
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
