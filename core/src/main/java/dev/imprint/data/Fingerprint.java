package dev.imprint.data;

import dev.imprint.InputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/**
 * The identity of a store's contents: SHA-256 over the store format version, the packing, the
 * sequence length, the tokenizer (caller's id, vocabulary size, end-of-text id), the options that
 * split files into documents (when a file of that kind is present) and, for every corpus file in
 * order, its relative path, size and content SHA-256. Any change to these rebuilds the store; the
 * corpus's location does not matter (a moved corpus reuses its store).
 */
public final class Fingerprint {
    private Fingerprint() {}

    /** Hashes the spec's corpus files (reads them all once). */
    public static String of(StoreSpec spec, Progress progress) {
        StringBuilder text = new StringBuilder();
        text.append("imprint-sequence-store ").append(SequenceStore.FORMAT_VERSION).append('\n');
        text.append("packing ").append(spec.packing().describe()).append('\n');
        text.append("seqLen ").append(spec.seqLen()).append('\n');
        text.append("tokenizer ").append(spec.tokenizerId()).append('\n');
        text.append("vocabSize ").append(spec.tokenizer().vocabSize()).append('\n');
        text.append("endOfText ").append(spec.tokenizer().endOfText()).append('\n');
        spec.tokenizer().beginOfText().ifPresent(id -> text.append("beginOfText ").append(id).append('\n'));
        Corpus corpus = spec.corpus();
        if (corpus.files().stream().anyMatch(f -> f.kind() == Corpus.Kind.JSON_LINES))
            text.append("textField ").append(corpus.options().textField()).append('\n');
        if (corpus.files().stream().anyMatch(f -> f.kind() == Corpus.Kind.SEPARATED_TEXT))
            text.append("separator ").append(corpus.options().separator()).append('\n');
        progress.start("Hashing corpus", corpus.totalBytes(), Progress.Unit.BYTES);
        try {
            for (Corpus.File file : corpus.files())
                text.append("file ").append(file.name()).append('\t').append(file.size()).append('\t')
                        .append(sha256(file, progress)).append('\n');
        } finally {
            progress.done();
        }
        return HexFormat.of().formatHex(digest().digest(text.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static String sha256(Corpus.File file, Progress progress) {
        try {
            return sha256(file.path(), progress::step);
        } catch (IOException e) {
            throw new InputException(file.path() + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** The SHA-256 of a file, hex, reporting the bytes read. */
    static String sha256(Path path, LongConsumer bytesRead) throws IOException {
        MessageDigest md = digest();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(path)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                md.update(buffer, 0, n);
                bytesRead.accept(n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
