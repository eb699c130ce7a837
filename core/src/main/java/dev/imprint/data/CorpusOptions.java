package dev.imprint.data;

/**
 * How corpus files are split into documents.
 *
 * @param textField the JSON Lines field that holds a document's text
 * @param separator a line consisting of exactly this string (line terminator aside) separates the
 *                  documents of a single {@code .txt} corpus file
 */
public record CorpusOptions(String textField, String separator) {
    /** Field {@code text}; separator line {@code <|endoftext|>}. */
    public static final CorpusOptions DEFAULT = new CorpusOptions("text", "<|endoftext|>");

    public CorpusOptions {
        if (textField.isEmpty()) throw new IllegalArgumentException("JSON Lines text field is empty");
        if (separator.isEmpty()) throw new IllegalArgumentException("document separator is empty");
        if (separator.indexOf('\n') >= 0 || separator.indexOf('\r') >= 0)
            throw new IllegalArgumentException("document separator spans lines");
    }
}
