package dev.imprint.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.io.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.Map;

/**
 * Builds a store in one streaming pass: documents are read, tokenized, packed and written as they
 * come, so memory does not grow with the corpus. Files are written into a hidden temporary folder,
 * renamed into the store directory, and {@code store.json} is written last.
 */
final class StoreWriter implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    private final StoreSpec spec;
    private final String fingerprint;
    private final Map<StoreFile, BinaryWriter> out = new EnumMap<>(StoreFile.class);
    private final Packer packer;
    private final int tokenBytes;
    private int documents, sequences, pieces;
    private long tokens, chars;

    private StoreWriter(StoreSpec spec, String fingerprint, Path dir) throws IOException {
        this.spec = spec;
        this.fingerprint = fingerprint;
        this.tokenBytes = StoreInfo.tokenBytesFor(spec.tokenizer().vocabSize());
        for (StoreFile f : StoreFile.values()) out.put(f, new BinaryWriter(dir.resolve(f.fileName)));
        this.packer = new Packer(spec.tokenizer(), spec.seqLen(), spec.packing(), s -> unchecked(() -> writeSequence(s)));
    }

    /** Builds the store for {@code spec} in {@code dir}, replacing whatever is there. */
    static StoreInfo build(StoreSpec spec, String fingerprint, Path dir, Progress progress) {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(SequenceStore.STORE_JSON)); // from here on the store is incomplete
            deleteStaleBuilds(dir);
            Path tmp = Files.createTempDirectory(dir, ".build-");
            try {
                StoreInfo info;
                try (StoreWriter writer = new StoreWriter(spec, fingerprint, tmp)) {
                    Corpus corpus = spec.corpus();
                    progress.start("Tokenizing " + corpus.root().getFileName(), corpus.totalBytes(), Progress.Unit.BYTES);
                    try {
                        corpus.forEach(doc -> unchecked(() -> writer.add(doc)), progress::step);
                        writer.packer.finish();
                    } finally {
                        progress.done();
                    }
                    info = writer.info();
                }
                for (StoreFile f : StoreFile.values()) move(tmp.resolve(f.fileName), dir.resolve(f.fileName));
                AtomicFiles.writeString(dir.resolve(SequenceStore.STORE_JSON),
                        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(info) + "\n");
                return info;
            } finally {
                AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build store " + dir + ": " + e.getMessage(), e);
        }
    }

    private void add(Document doc) throws IOException {
        int index = documents++;
        int docTokens = packer.add(index, doc);
        ObjectNode json = JSON.createObjectNode().put("id", doc.id()).put("source", doc.source());
        ObjectNode meta = json.putObject("metadata");
        doc.metadata().forEach(meta::put);
        byte[] line = (JSON.writeValueAsString(json) + "\n").getBytes(StandardCharsets.UTF_8);
        BinaryWriter jsonOut = out.get(StoreFile.DOCUMENTS_JSON), texts = out.get(StoreFile.TEXTS), record = out.get(StoreFile.DOCUMENTS);
        record.putLong(chars);
        record.putLong(jsonOut.position());
        record.putInt(doc.text().length());
        record.putInt(line.length);
        record.putInt(docTokens);
        record.putInt(0);
        jsonOut.putBytes(line);
        String text = doc.text();
        for (int i = 0; i < text.length(); i++) texts.putChar(text.charAt(i));
        chars += text.length();
    }

    private void writeSequence(Packer.Sequence s) throws IOException {
        BinaryWriter seq = out.get(StoreFile.SEQUENCES), tok = out.get(StoreFile.TOKENS),
                off = out.get(StoreFile.OFFSETS), pie = out.get(StoreFile.PIECES);
        seq.putLong(tokens);
        seq.putInt(s.tokens().length);
        seq.putInt(pieces);
        int vocab = spec.tokenizer().vocabSize();
        for (int t = 0; t < s.tokens().length; t++) {
            int id = s.tokens()[t];
            if (id < 0 || id >= vocab) throw new IllegalStateException("tokenizer produced id " + id + " outside its vocabulary of " + vocab);
            if (tokenBytes == 2) tok.putShort(id);
            else tok.putInt(id);
            off.putInt(s.charStart()[t]);
            off.putInt(s.charEnd()[t]);
        }
        for (Piece p : s.pieces()) {
            pie.putInt(p.document());
            pie.putInt(p.tokenStart());
            pie.putInt(p.tokenEnd());
            pie.putInt(p.charStart());
            pie.putInt(p.charEnd());
            pie.putInt(p.endsDocument() ? 1 : 0);
        }
        sequences++;
        pieces = Math.addExact(pieces, s.pieces().size());
        tokens += s.tokens().length;
    }

    private StoreInfo info() throws IOException {
        var tok = spec.tokenizer();
        java.util.Map<String, String> checksums = new java.util.TreeMap<>();
        for (var e : out.entrySet()) checksums.put(e.getKey().fileName, e.getValue().crc32c());
        return new StoreInfo(StoreInfo.FORMAT, SequenceStore.FORMAT_VERSION, fingerprint, spec.seqLen(), spec.packing().describe(),
                tok.vocabSize(), tok.endOfText(), tok.decode(new int[] {tok.endOfText()}), tokenBytes,
                documents, sequences, pieces, tokens, chars, spec.corpus().root().toString(), spec.tokenizerId(), checksums);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (BinaryWriter w : out.values()) {
            try {
                w.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static void unchecked(IoAction action) {
        try {
            action.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Leftovers of builds that were killed. */
    private static void deleteStaleBuilds(Path dir) throws IOException {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, ".build-*")) {
            for (Path p : stale) AtomicFiles.deleteTree(p);
        }
    }
}
