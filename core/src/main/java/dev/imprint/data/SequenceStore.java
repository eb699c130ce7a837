package dev.imprint.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.io.Crc32c;
import dev.imprint.io.OutputLock;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenized, packed corpus on disk: the training sequences with, for every token, the document
 * and characters it came from. Written once ({@link #openOrBuild}), then memory-mapped; every read
 * is a lookup in the mapped files, so reads are thread-safe and opening is cheap whatever the
 * corpus size. Layout: {@link StoreFile} and {@code docs/corpus.md}.
 */
public final class SequenceStore implements AutoCloseable, SequenceSource {
    /** Version of the on-disk layout; part of the fingerprint, so a new layout rebuilds old stores. */
    public static final int FORMAT_VERSION = 1;
    static final String STORE_JSON = "store.json";

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfChar CHAR = ValueLayout.JAVA_CHAR_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path dir;
    private final StoreInfo info;
    private final Arena arena;
    private final Map<StoreFile, MemorySegment> files;

    private SequenceStore(Path dir, StoreInfo info, Arena arena, Map<StoreFile, MemorySegment> files) {
        this.dir = dir;
        this.info = info;
        this.arena = arena;
        this.files = files;
    }

    // ---------------------------------------------------------------- opening and building

    /**
     * The store in {@code storeDir} for the corpus at {@code corpusPath} (default
     * {@link CorpusOptions} and {@link Packing#CONCATENATE}), built unless a complete store with the
     * same fingerprint is already there.
     */
    public static SequenceStore openOrBuild(Path corpusPath, Path storeDir, Tokenizer tokenizer, String tokenizerId,
                                            int seqLen, Progress progress) {
        return openOrBuild(new StoreSpec(Corpus.open(corpusPath), tokenizer, tokenizerId, seqLen), storeDir, progress);
    }

    /**
     * Reuses the store in {@code storeDir} if its fingerprint matches {@code spec}'s, else (re)builds
     * it, holding the folder's lock ({@link OutputLock}) while it builds: a second build of the same
     * folder is refused.
     */
    public static SequenceStore openOrBuild(StoreSpec spec, Path storeDir, Progress progress) {
        String fingerprint = Fingerprint.of(spec, progress);
        SequenceStore existing = openIfBuiltWith(storeDir, fingerprint);
        if (existing != null) return existing;
        try (OutputLock lock = OutputLock.acquire(storeDir, "store build")) {
            existing = openIfBuiltWith(storeDir, fingerprint); // another run may have built it meanwhile
            if (existing != null) return existing;
            StoreWriter.build(spec, fingerprint, storeDir, progress);
        }
        return open(storeDir, fingerprint);
    }

    /** The store in {@code storeDir} if it is complete, undamaged and built with {@code fingerprint}; else null. */
    private static SequenceStore openIfBuiltWith(Path storeDir, String fingerprint) {
        try {
            StoreInfo existing = readInfo(storeDir);
            return existing != null && existing.fingerprint().equals(fingerprint) ? open(storeDir, fingerprint) : null;
        } catch (InputException unusable) {
            return null; // an old format version or a damaged store (truncated file, ...) is rebuilt like an incomplete one
        }
    }

    /** Builds the store in {@code storeDir} unconditionally (replacing any store there). */
    public static SequenceStore build(StoreSpec spec, Path storeDir, Progress progress) {
        String fingerprint = Fingerprint.of(spec, progress);
        StoreWriter.build(spec, fingerprint, storeDir, progress);
        return open(storeDir, fingerprint);
    }

    /**
     * Opens a complete store and checks what it was built from.
     *
     * @throws InputException when the store is missing, incomplete, damaged, or its fingerprint is
     *                        not {@code expectedFingerprint}
     */
    public static SequenceStore open(Path storeDir, String expectedFingerprint) {
        SequenceStore store = open(storeDir);
        if (!store.info.fingerprint().equals(expectedFingerprint)) {
            store.close();
            throw InputException.mismatch("store " + storeDir + " was built from a different corpus/tokenizer/sequence length (fingerprint "
                    + shortHash(store.info.fingerprint()) + "≠" + shortHash(expectedFingerprint) + ")");
        }
        return store;
    }

    /** Opens a complete store whatever it was built from. */
    public static SequenceStore open(Path storeDir) {
        StoreInfo info = readInfo(storeDir);
        if (info == null) throw new InputException("store " + storeDir + " is missing or incomplete (no " + STORE_JSON + ")");
        Arena arena = Arena.ofShared();
        Map<StoreFile, MemorySegment> files = new EnumMap<>(StoreFile.class);
        try {
            for (StoreFile f : StoreFile.values()) {
                Path path = storeDir.resolve(f.fileName);
                if (!Files.isRegularFile(path)) throw new InputException("store " + storeDir + " is damaged: " + f.fileName + " is missing");
                try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                    long size = ch.size(), expected = f.expectedBytes(info);
                    if (expected >= 0 && size != expected)
                        throw new InputException("store " + storeDir + " is damaged: " + f.fileName + " has " + size + " bytes, expected " + expected);
                    String want = info.checksums() == null ? null : info.checksums().get(f.fileName);
                    if (info.checksums() != null && !Crc32c.hex(Crc32c.of(ch)).equals(want))
                        throw new InputException("store " + storeDir + " is damaged: " + f.fileName + " does not match the CRC32C written with it");
                    files.put(f, size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena));
                }
            }
        } catch (IOException e) {
            arena.close();
            throw new InputException("store " + storeDir + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        return new SequenceStore(storeDir, info, arena, files);
    }

    /** The store's {@code store.json}, or null when there is none (missing or incomplete store). */
    static StoreInfo readInfo(Path storeDir) {
        Path file = storeDir.resolve(STORE_JSON);
        if (!Files.isRegularFile(file)) return null;
        try {
            JsonNode node = StoreWriter.JSON.readTree(file.toFile());
            if (!StoreInfo.FORMAT.equals(node.path("format").asText()))
                throw new InputException(file + " is not an Imprint sequence store");
            if (node.path("version").asInt() != FORMAT_VERSION)
                throw new InputException("store " + storeDir + " has format version " + node.path("version").asInt()
                        + "; this Imprint reads version " + FORMAT_VERSION + " (delete the store to rebuild it)");
            return StoreWriter.JSON.treeToValue(node, StoreInfo.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new InputException("store " + storeDir + " is damaged: cannot read " + STORE_JSON + " (" + e.getMessage() + ")", e);
        }
    }

    private static String shortHash(String hex) {
        return hex.length() > 16 ? hex.substring(0, 16) : hex;
    }

    // ---------------------------------------------------------------- sequences

    public StoreInfo info() {
        return info;
    }

    public Path directory() {
        return dir;
    }

    public String fingerprint() {
        return info.fingerprint();
    }

    /** Number of sequences. */
    @Override
    public int size() {
        return info.sequences();
    }

    /** Maximum tokens per sequence. */
    public int seqLen() {
        return info.seqLen();
    }

    /** Number of tokens of sequence i (seqLen except possibly the last). */
    public int length(int i) {
        return seqRecord(i, 8);
    }

    /** The token ids of sequence i. */
    public int[] sequence(int i) {
        int[] out = new int[length(i)];
        readTokens(i, out, 0);
        return out;
    }

    /** Sequences {@code from .. from+count-1} as a batch of width seqLen (shorter ones padded with id 0). */
    public SequenceBatch batch(int from, int count) {
        if (from < 0 || count < 1 || from + count > size())
            throw new IndexOutOfBoundsException("sequences [" + from + ", " + (from + count) + ") outside [0, " + size() + ")");
        int[] indices = new int[count];
        for (int b = 0; b < count; b++) indices[b] = from + b;
        return batch(indices);
    }

    /** The given sequences as a batch of width seqLen (shorter ones padded with id 0). */
    @Override
    public SequenceBatch batch(int[] indices) {
        int T = seqLen();
        int[] tokens = new int[indices.length * T], lengths = new int[indices.length];
        for (int b = 0; b < indices.length; b++) lengths[b] = readTokens(indices[b], tokens, b * T);
        return new SequenceBatch(indices.length, T, tokens, lengths);
    }

    /** Copies sequence i's tokens to {@code dst[offset..]} and returns how many. */
    private int readTokens(int i, int[] dst, int offset) {
        checkSequence(i);
        long first = seqFirstToken(i);
        int len = length(i);
        MemorySegment tok = files.get(StoreFile.TOKENS);
        if (info.tokenBytes() == 2) {
            for (int t = 0; t < len; t++) dst[offset + t] = Short.toUnsignedInt(tok.get(U16, 2 * (first + t)));
        } else {
            MemorySegment.copy(tok, I32, 4 * first, dst, offset, len);
        }
        return len;
    }

    /** Seeded sample of distinct sequence indices, sorted (see {@link Sampler}). */
    public int[] sample(int count, long seed) {
        return Sampler.sample(size(), count, seed);
    }

    /** Σ of the lengths of sequences {@code indices}: their tokens. */
    public long tokens(int[] indices) {
        long n = 0;
        for (int i : indices) n += length(i);
        return n;
    }

    // ---------------------------------------------------------------- provenance and text

    /** The id of the document sequence i starts in (its first piece's). */
    public String firstDocumentId(int i) {
        return document(provenance(i).pieces().getFirst().document()).id();
    }

    /** Which documents and characters sequence i's tokens come from. */
    public Provenance provenance(int i) {
        checkSequence(i);
        int len = length(i), firstPiece = seqRecord(i, 12);
        int endPiece = i + 1 < size() ? seqRecord(i + 1, 12) : info.pieces();
        MemorySegment pie = files.get(StoreFile.PIECES);
        List<Piece> pieces = new ArrayList<>(endPiece - firstPiece);
        for (int p = firstPiece; p < endPiece; p++) {
            long at = (long) p * StoreFile.PIECES.recordBytes;
            pieces.add(new Piece(pie.get(I32, at), pie.get(I32, at + 4), pie.get(I32, at + 8),
                    pie.get(I32, at + 12), pie.get(I32, at + 16), (pie.get(I32, at + 20) & 1) != 0));
        }
        int[] start = new int[len], end = new int[len];
        MemorySegment off = files.get(StoreFile.OFFSETS);
        long first = seqFirstToken(i);
        for (int t = 0; t < len; t++) {
            start[t] = off.get(I32, 8 * (first + t));
            end[t] = off.get(I32, 8 * (first + t) + 4);
        }
        return new Provenance(i, pieces, start, end);
    }

    /** The original text of sequence i (documents' ends shown as the end-of-text token's text). */
    public String text(int i) {
        return annotatedText(i).text();
    }

    /** The original text of sequence i with each token's span in it. */
    public SequenceText annotatedText(int i) {
        Provenance prov = provenance(i);
        StringBuilder text = new StringBuilder();
        int[] start = new int[prov.length()], end = new int[prov.length()];
        for (Piece p : prov.pieces()) {
            int base = text.length(), pieceChars = p.charEnd() - p.charStart();
            text.append(documentChars(p.document(), p.charStart(), pieceChars));
            int realEnd = p.endsDocument() ? p.tokenEnd() - 1 : p.tokenEnd();
            for (int t = p.tokenStart(); t < realEnd; t++) {
                // a token may reach outside its piece when it shares a character with the neighbour piece
                start[t] = base + Math.clamp(prov.tokenCharStart()[t] - p.charStart(), 0, pieceChars);
                end[t] = base + Math.clamp(prov.tokenCharEnd()[t] - p.charStart(), 0, pieceChars);
            }
            if (p.endsDocument()) {
                start[realEnd] = text.length();
                text.append(info.endOfTextText());
                end[realEnd] = text.length();
            }
        }
        return new SequenceText(text.toString(), start, end);
    }

    /** Number of documents. */
    public int documentCount() {
        return info.documents();
    }

    /** Document d (index as in {@link Piece#document()}), with its text as stored at build time. */
    public Document document(int d) {
        MemorySegment rec = documentRecord(d);
        long jsonAt = rec.get(I64, 8);
        int jsonLength = rec.get(I32, 20);
        byte[] line = files.get(StoreFile.DOCUMENTS_JSON).asSlice(jsonAt, jsonLength).toArray(ValueLayout.JAVA_BYTE);
        try {
            JsonNode json = StoreWriter.JSON.readTree(new String(line, StandardCharsets.UTF_8));
            Map<String, String> metadata = new LinkedHashMap<>();
            if (json.get("metadata") instanceof ObjectNode meta) meta.properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
            return new Document(json.path("id").asText(), json.path("source").asText(), metadata,
                    documentChars(d, 0, rec.get(I32, 16)));
        } catch (IOException e) {
            throw new UncheckedIOException("store " + dir + ": document " + d + " record is damaged", e);
        }
    }

    /** Number of tokens of document d (without its end-of-text token). */
    public int documentTokens(int d) {
        return documentRecord(d).get(I32, 24);
    }

    private String documentChars(int d, int from, int count) {
        MemorySegment rec = documentRecord(d);
        int length = rec.get(I32, 16);
        if (from < 0 || count < 0 || from + count > length)
            throw new IndexOutOfBoundsException("chars [" + from + ", " + (from + count) + ") outside document " + d + " of " + length);
        long at = 2 * (rec.get(I64, 0) + from);
        return new String(files.get(StoreFile.TEXTS).asSlice(at, 2L * count).toArray(CHAR));
    }

    private MemorySegment documentRecord(int d) {
        if (d < 0 || d >= info.documents()) throw new IndexOutOfBoundsException("document " + d + " outside [0, " + info.documents() + ")");
        int bytes = StoreFile.DOCUMENTS.recordBytes;
        return files.get(StoreFile.DOCUMENTS).asSlice((long) d * bytes, bytes);
    }

    private void checkSequence(int i) {
        if (i < 0 || i >= size()) throw new IndexOutOfBoundsException("sequence " + i + " outside [0, " + size() + ")");
    }

    private long seqFirstToken(int i) {
        return files.get(StoreFile.SEQUENCES).get(I64, (long) i * StoreFile.SEQUENCES.recordBytes);
    }

    /** The int32 at {@code field} bytes into sequence i's record. */
    private int seqRecord(int i, int field) {
        checkSequence(i);
        return files.get(StoreFile.SEQUENCES).get(I32, (long) i * StoreFile.SEQUENCES.recordBytes + field);
    }

    /** Unmaps the files; the store must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    /**
     * The baseline a language model must beat: the cross-entropy of the held-out tokens under the
     * unigram distribution of all other sequences (add-one smoothed), in nats per token.
     */
    public double unigramEntropy(int[] heldOut) {
        java.util.BitSet held = new java.util.BitSet(size());
        for (int h : heldOut) held.set(h);
        int V = info().vocabSize();
        long[] counts = new long[V];
        long total = 0;
        for (int i = 0; i < size(); i++) {
            if (held.get(i)) continue;
            for (int t : sequence(i)) {
                counts[t]++;
                total++;
            }
        }
        double ce = 0;
        long n = 0;
        for (int h : heldOut)
            for (int t : sequence(h)) {
                ce -= Math.log((counts[t] + 1.0) / (total + V));
                n++;
            }
        return ce / Math.max(1, n);
    }
}
