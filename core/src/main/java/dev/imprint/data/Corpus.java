package dev.imprint.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.imprint.InputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * The training documents, read lazily from one of:
 * <ul>
 *   <li>a directory: every {@code .txt} file is one document, every {@code .jsonl} file holds one
 *       document per line; files are found recursively (hidden names skipped) and taken in the order
 *       of their relative paths;</li>
 *   <li>a single {@code .jsonl} file;</li>
 *   <li>a single {@code .txt} file, split into documents by separator lines
 *       ({@link CorpusOptions#separator()}).</li>
 * </ul>
 * Documents are streamed one at a time ({@link #forEach}), so a corpus never has to fit in memory.
 * Empty documents are skipped; a corpus without any non-empty document is an {@link InputException}.
 */
public final class Corpus {
    /** How one file yields documents. */
    public enum Kind {
        /** The whole file is one document. */
        TEXT,
        /** One JSON object per line. */
        JSON_LINES,
        /** A text file of several documents split by separator lines. */
        SEPARATED_TEXT
    }

    /**
     * One corpus file.
     *
     * @param path absolute path
     * @param name path relative to the corpus root with {@code /} separators (the file name for a
     *             single-file corpus); document ids start with it
     * @param size size in bytes when the corpus was opened
     */
    public record File(Path path, String name, long size, Kind kind) {}

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(
                StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build());
    }

    private final Path root;
    private final List<File> files;
    private final CorpusOptions options;

    private Corpus(Path root, List<File> files, CorpusOptions options) {
        this.root = root;
        this.files = List.copyOf(files);
        this.options = options;
    }

    /** Opens a corpus with the default options. */
    public static Corpus open(Path path) {
        return open(path, CorpusOptions.DEFAULT);
    }

    /** Finds the corpus files (nothing is read yet beyond the directory listing). */
    public static Corpus open(Path path, CorpusOptions options) {
        Path root = path.toAbsolutePath().normalize();
        try {
            if (Files.isDirectory(root)) return new Corpus(root, listDirectory(root), options);
            if (!Files.isRegularFile(root)) throw InputException.notFound("corpus " + path + " does not exist");
            String name = root.getFileName().toString();
            Kind kind = switch (extension(name)) {
                case "txt" -> Kind.SEPARATED_TEXT;
                case "jsonl" -> Kind.JSON_LINES;
                default -> throw new InputException("corpus file " + path + " is neither .txt nor .jsonl");
            };
            return new Corpus(root, List.of(new File(root, name, Files.size(root), kind)), options);
        } catch (IOException e) {
            throw new InputException("corpus " + path + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static List<File> listDirectory(Path root) throws IOException {
        List<File> found = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root, FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path rel = root.relativize(p);
                if (rel.toString().isEmpty() || !Files.isRegularFile(p) || hidden(rel)) continue;
                String name = rel.toString().replace(rel.getFileSystem().getSeparator(), "/");
                Kind kind = switch (extension(name)) {
                    case "txt" -> Kind.TEXT;
                    case "jsonl" -> Kind.JSON_LINES;
                    default -> null; // other files (README.md, *.json, ...) are not corpus files
                };
                if (kind != null) found.add(new File(p, name, Files.size(p), kind));
            }
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof FileSystemLoopException loop)
                throw new InputException("corpus " + root + ": symbolic link loop at " + loop.getFile(), e);
            throw e.getCause();
        }
        if (found.isEmpty()) throw new InputException("corpus directory " + root + " contains no .txt or .jsonl files");
        found.sort(Comparator.comparing(File::name));
        return found;
    }

    private static boolean hidden(Path rel) {
        for (Path part : rel) if (part.toString().startsWith(".")) return true;
        return false;
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** The directory or file the corpus was opened from (absolute). */
    public Path root() {
        return root;
    }

    /** The corpus files in document order. */
    public List<File> files() {
        return files;
    }

    public CorpusOptions options() {
        return options;
    }

    /** Sum of the file sizes, the unit of {@link #forEach(Consumer, LongConsumer)}'s progress. */
    public long totalBytes() {
        return files.stream().mapToLong(File::size).sum();
    }

    /** Reads every document in order. */
    public void forEach(Consumer<Document> action) {
        forEach(action, bytes -> {});
    }

    /**
     * Reads every document in order, reporting the bytes read as it goes.
     *
     * @throws InputException for unreadable or malformed files, or when there is no non-empty document
     */
    public void forEach(Consumer<Document> action, LongConsumer bytesRead) {
        long[] count = {0};
        Consumer<Document> counting = d -> {
            count[0]++;
            action.accept(d);
        };
        for (File file : files) {
            try {
                switch (file.kind()) {
                    case TEXT -> readText(file, counting);
                    case JSON_LINES -> readJsonLines(file, counting, bytesRead);
                    case SEPARATED_TEXT -> readSeparated(file, counting, bytesRead);
                }
            } catch (IOException e) {
                throw new InputException(file.path() + ": cannot read (" + e.getMessage() + ")", e);
            }
            if (file.kind() == Kind.TEXT) bytesRead.accept(file.size());
        }
        if (count[0] == 0) throw new InputException("corpus " + root + " contains no text: every document is empty");
    }

    private void readText(File file, Consumer<Document> action) throws IOException {
        String text = Utf8.readFile(file.path(), file.path().toString());
        if (!text.isEmpty()) action.accept(new Document(file.name(), file.name(), Map.of(), text));
    }

    private void readJsonLines(File file, Consumer<Document> action, LongConsumer bytesRead) throws IOException {
        try (Utf8.LineReader lines = new Utf8.LineReader(file.path(), file.path().toString())) {
            long reported = 0;
            for (String line; (line = lines.next()) != null; ) {
                if (line.isBlank()) continue;
                String where = file.path() + ":" + lines.lineNumber();
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new InputException(where + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
                }
                if (!node.isObject()) throw new InputException(where + ": not a JSON object");
                JsonNode text = node.get(options.textField());
                if (text == null) throw new InputException(where + ": no \"" + options.textField() + "\" field");
                if (!text.isTextual()) throw new InputException(where + ": field \"" + options.textField() + "\" is not a string");
                Map<String, String> metadata = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> field : node.properties()) {
                    if (field.getKey().equals(options.textField())) continue;
                    JsonNode v = field.getValue();
                    metadata.put(field.getKey(), v.isTextual() ? v.textValue() : v.toString());
                }
                if (!text.textValue().isEmpty())
                    action.accept(new Document(file.name() + ":" + lines.lineNumber(), file.name(), metadata, text.textValue()));
                bytesRead.accept(lines.offset() - reported);
                reported = lines.offset();
            }
            bytesRead.accept(lines.offset() - reported);
        }
    }

    private void readSeparated(File file, Consumer<Document> action, LongConsumer bytesRead) throws IOException {
        try (Utf8.LineReader lines = new Utf8.LineReader(file.path(), file.path().toString())) {
            StringBuilder doc = new StringBuilder();
            int k = 0;
            long reported = 0;
            for (String line; ; ) {
                line = lines.next();
                if (line == null || isSeparator(line)) {
                    // the line break before a separator line belongs to the separator
                    int end = withoutTerminator(doc);
                    if (end > 0) {
                        k++;
                        action.accept(new Document(file.name() + "#" + k, file.name(), Map.of(), doc.substring(0, end)));
                    }
                    doc.setLength(0);
                    bytesRead.accept(lines.offset() - reported);
                    reported = lines.offset();
                    if (line == null) break;
                } else {
                    doc.append(line);
                }
            }
        }
    }

    private boolean isSeparator(String line) {
        return withoutTerminator(line) == options.separator().length() && line.startsWith(options.separator());
    }

    /** Length of {@code s} without one trailing {@code \n} or {@code \r\n}. */
    private static int withoutTerminator(CharSequence s) {
        int end = s.length();
        if (end == 0 || s.charAt(end - 1) != '\n') return end;
        return end >= 2 && s.charAt(end - 2) == '\r' ? end - 2 : end - 1;
    }
}
