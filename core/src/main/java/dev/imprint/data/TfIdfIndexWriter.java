package dev.imprint.data;

import dev.imprint.io.AtomicFiles;

import org.apache.lucene.document.Field;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * Builds a {@link TfIdfIndex}: one Lucene document per sequence, written into a hidden temporary
 * sibling of the index directory ({@code .tfidf-build-*}), merged to one segment, described by
 * {@code tfidf.json}, and renamed into place. A killed build leaves only the temporary directory,
 * which the next build deletes.
 */
final class TfIdfIndexWriter {
    private TfIdfIndexWriter() {}

    /** Builds the index of {@code store} in {@code indexDir}, replacing whatever is there. */
    static void build(SequenceStore store, Path indexDir, Progress progress) {
        Path parent = indexDir.toAbsolutePath().getParent();
        String tmpPrefix = "." + indexDir.getFileName() + "-build-";
        try {
            Files.createDirectories(parent);
            deleteStaleBuilds(parent, tmpPrefix);
            Path tmp = Files.createTempDirectory(parent, tmpPrefix);
            try {
                readableByAll(tmp); // temporary directories are created 0700; the index is an ordinary directory
                writeIndex(store, tmp, progress);
                Files.writeString(tmp.resolve(TfIdfIndex.INFO_JSON),
                        StoreWriter.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(TfIdfIndexInfo.of(store)) + "\n");
                AtomicFiles.deleteTree(indexDir);
                Files.move(tmp, indexDir, StandardCopyOption.ATOMIC_MOVE); // a sibling: a rename on the same file system
            } finally {
                AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build TF-IDF index " + indexDir + ": " + e.getMessage(), e);
        }
    }

    private static void writeIndex(SequenceStore store, Path dir, Progress progress) throws IOException {
        IndexWriterConfig config = new IndexWriterConfig()
                .setOpenMode(IndexWriterConfig.OpenMode.CREATE)
                .setIndexSort(TfIdfIndex.ORDER); // with the merge to one segment: document id = sequence index
        try (Directory directory = FSDirectory.open(dir); IndexWriter writer = new IndexWriter(directory, config)) {
            progress.start("Indexing " + store.size() + " sequences", store.size(), Progress.Unit.ITEMS);
            try {
                for (int i = 0; i < store.size(); i++) {
                    writer.addDocument(document(i, store.sequence(i)));
                    progress.step(1);
                }
            } finally {
                progress.done();
            }
            writer.forceMerge(1);
            writer.commit();
        }
    }

    /**
     * Sequence i as a Lucene document: its distinct token ids as untokenized terms (StringField:
     * docs only, no norms — Eq. 28 reads only whether a token occurs) and its index as doc values.
     */
    private static org.apache.lucene.document.Document document(int i, int[] tokens) {
        var doc = new org.apache.lucene.document.Document();
        doc.add(new NumericDocValuesField(TfIdfIndex.SEQUENCE, i));
        int[] sorted = tokens.clone();
        Arrays.sort(sorted);
        for (int k = 0; k < sorted.length; k++)
            if (k == 0 || sorted[k] != sorted[k - 1]) doc.add(new StringField(TfIdfIndex.TOKENS, TfIdfIndex.term(sorted[k]), Field.Store.NO));
        return doc;
    }

    private static void readableByAll(Path dir) throws IOException {
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException notPosix) {
            // non-POSIX file systems keep their default permissions
        }
    }

    /** Leftovers of builds that were killed. */
    private static void deleteStaleBuilds(Path parent, String tmpPrefix) throws IOException {
        try (Stream<Path> siblings = Files.list(parent)) {
            for (Path p : siblings.filter(p -> p.getFileName().toString().startsWith(tmpPrefix)).toList()) AtomicFiles.deleteTree(p);
        }
    }
}
