package dev.imprint.data;

import java.util.Map;

/**
 * One training document as read from the corpus.
 *
 * @param id       stable identity: the relative path of a whole-file document, {@code path:line} for a
 *                 JSON Lines record, {@code path#k} (k from 1) for the k-th document of a separated file
 * @param source   relative path (with {@code /}) of the corpus file it came from
 * @param metadata the other top-level fields of a JSON Lines record, as strings (non-string values as
 *                 their JSON text), in file order; empty for plain text
 * @param text     the document's text, never empty
 */
public record Document(String id, String source, Map<String, String> metadata, String text) {
    public Document {
        if (id.isEmpty()) throw new IllegalArgumentException("document id is empty");
        if (text.isEmpty()) throw new IllegalArgumentException("document " + id + " is empty");
        metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
    }
}
