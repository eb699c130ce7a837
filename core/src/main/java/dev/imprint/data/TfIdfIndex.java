package dev.imprint.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.InputException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The TF-IDF filter of method §5: a Lucene index over a store's sequences that ranks them against a
 * query by the paper's modified BM25 (Eq. 28–29, {@link PaperTfIdfSimilarity}), so that only the
 * top K candidates (paper: K = 10,000) get the expensive gradient pass.
 *
 * <p>One Lucene document per sequence; its field {@value #TOKENS} holds the sequence's distinct
 * token ids as decimal terms (a binary term indicator needs only the set). Documents are sorted by
 * sequence index and merged into one segment, so a document id is the sequence index. The index
 * lives in {@code <storeDir>/tfidf/} with {@code tfidf.json} naming the store fingerprint and
 * {@link #FORMAT_VERSION}; {@link #openOrBuild} reuses it while both match and rebuilds it otherwise.
 *
 * <p>Queries are token ids (a query's prompt followed by its completion). Eq. 28 sums over the
 * query's tokens, so a token occurring m times in the query counts m times: one clause per distinct
 * token, boosted by m (the same sum as m duplicate clauses, rounded once, and within Lucene's clause
 * limit for any query of up to {@link IndexSearcher#getMaxClauseCount()} distinct tokens). A
 * sequence that shares no token with the query scores 0 and is never a top-K candidate, so an
 * empty query, or one of tokens no sequence contains, has no candidates.
 *
 * <p>Searches are thread-safe.
 */
public final class TfIdfIndex implements AutoCloseable {
    /** Version of the index layout; a different version is rebuilt. */
    public static final int FORMAT_VERSION = 1;
    /** The index's directory name inside its store's directory. */
    public static final String DIRECTORY = "tfidf";
    static final String INFO_JSON = "tfidf.json";
    /** Field of the sequence's distinct token ids, one term each. */
    static final String TOKENS = "tokens";
    /** Doc-values field of the sequence index, the index sort. */
    static final String SEQUENCE = "sequence";
    static final Sort ORDER = new Sort(new SortField(SEQUENCE, SortField.Type.LONG));

    private final Path dir;
    private final Directory directory;
    private final DirectoryReader reader;
    private final IndexSearcher searcher;

    private TfIdfIndex(Path dir, Directory directory, DirectoryReader reader) {
        this.dir = dir;
        this.directory = directory;
        this.reader = reader;
        this.searcher = new IndexSearcher(reader);
        searcher.setSimilarity(new PaperTfIdfSimilarity());
        searcher.setQueryCache(null); // scoring disjunctions are never cached; no shared global cache
    }

    // ---------------------------------------------------------------- opening and building

    /** The index of {@code store} in {@code <store directory>/tfidf}, built unless a current one is there. */
    public static TfIdfIndex openOrBuild(SequenceStore store, Progress progress) {
        return openOrBuild(store, store.directory().resolve(DIRECTORY), progress);
    }

    /** Reuses the index in {@code indexDir} if it was built from {@code store} by this version, else (re)builds it. */
    public static TfIdfIndex openOrBuild(SequenceStore store, Path indexDir, Progress progress) {
        if (TfIdfIndexInfo.of(store).equals(readInfo(indexDir))) {
            try {
                return open(indexDir, store.size());
            } catch (InputException damaged) {
                // a damaged index is rebuilt like a stale one
            }
        }
        return build(store, indexDir, progress);
    }

    /** Builds the index of {@code store} in {@code indexDir} unconditionally (replacing any index there). */
    public static TfIdfIndex build(SequenceStore store, Path indexDir, Progress progress) {
        TfIdfIndexWriter.build(store, indexDir, progress);
        return open(indexDir, store.size());
    }

    /** The index's {@code tfidf.json}, or null when it is missing or unreadable (an index to rebuild). */
    static TfIdfIndexInfo readInfo(Path indexDir) {
        Path file = indexDir.resolve(INFO_JSON);
        if (!Files.isRegularFile(file)) return null;
        try {
            JsonNode node = StoreWriter.JSON.readTree(file.toFile());
            return StoreWriter.JSON.treeToValue(node, TfIdfIndexInfo.class);
        } catch (IOException | IllegalArgumentException unreadable) {
            return null;
        }
    }

    /**
     * Opens the index and checks its shape: {@code sequences} documents in one segment sorted by
     * sequence index (so document ids are sequence indices).
     *
     * @throws InputException when the index cannot be read or has another shape
     */
    private static TfIdfIndex open(Path indexDir, int sequences) {
        Directory directory = null;
        DirectoryReader reader = null;
        try {
            directory = FSDirectory.open(indexDir);
            reader = DirectoryReader.open(directory);
            LeafReader leaf = reader.leaves().size() == 1 ? reader.leaves().getFirst().reader() : null;
            if (leaf == null || reader.maxDoc() != sequences || !ORDER.equals(leaf.getMetaData().sort()))
                throw new InputException("TF-IDF index " + indexDir + " is damaged: expected " + sequences
                        + " documents in one segment sorted by sequence, found " + reader.maxDoc() + " in " + reader.leaves().size());
            return new TfIdfIndex(indexDir, directory, reader);
        } catch (IOException | RuntimeException e) {
            closeQuietly(reader, directory);
            if (e instanceof InputException ie) throw ie;
            throw new InputException("TF-IDF index " + indexDir + " is damaged: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r == null) continue;
            try {
                r.close();
            } catch (Exception ignored) {
                // the failure that led here is the one worth reporting
            }
        }
    }

    // ---------------------------------------------------------------- scoring

    /** Number of indexed sequences, C of Eq. 29. */
    public int size() {
        return reader.maxDoc();
    }

    public Path directory() {
        return dir;
    }

    /**
     * The (at most) {@code k} sequences with the highest Eq. 28 score against the query, best first,
     * equal scores by lower sequence index. Only sequences sharing a token with the query are
     * returned, so fewer than {@code k} when fewer match ({@code k} above {@link #size()} included).
     */
    public int[] topK(int[] queryTokens, int k) {
        if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        ScoreDoc[] hits = search(queryTokens, Math.min(k, size()));
        int[] out = new int[hits.length];
        for (int r = 0; r < hits.length; r++) out[r] = hits[r].doc;
        return out;
    }

    /** The Eq. 28 score of every sequence against the query (0 for sequences sharing no token with it). */
    public float[] scores(int[] queryTokens) {
        float[] out = new float[size()];
        for (ScoreDoc hit : search(queryTokens, size())) out[hit.doc] = hit.score;
        return out;
    }

    /** How sequence {@code sequence}'s score against the query is made up: one IDF summand per shared token. */
    public Explanation explain(int[] queryTokens, int sequence) {
        if (sequence < 0 || sequence >= size()) throw new IndexOutOfBoundsException("sequence " + sequence + " outside [0, " + size() + ")");
        try {
            return searcher.explain(query(queryTokens), sequence);
        } catch (IOException e) {
            throw new UncheckedIOException("TF-IDF index " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Lucene's top hits, by score then document id (= sequence index). */
    private ScoreDoc[] search(int[] queryTokens, int n) {
        try {
            TopDocs top = searcher.search(query(queryTokens), n);
            return top.scoreDocs;
        } catch (IOException e) {
            throw new UncheckedIOException("TF-IDF index " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Eq. 28's sum over the query's tokens as a disjunction: one SHOULD clause per distinct token,
     * boosted by its number of occurrences.
     */
    static Query query(int[] queryTokens) {
        int[] sorted = queryTokens.clone();
        Arrays.sort(sorted);
        int distinct = (int) Arrays.stream(sorted).distinct().count();
        if (distinct > IndexSearcher.getMaxClauseCount())
            throw new IllegalArgumentException("query of " + distinct + " distinct tokens exceeds Lucene's limit of "
                    + IndexSearcher.getMaxClauseCount() + " clauses");
        BooleanQuery.Builder builder = new BooleanQuery.Builder();
        for (int from = 0, to; from < sorted.length; from = to) {
            for (to = from + 1; to < sorted.length && sorted[to] == sorted[from]; ) to++;
            Query term = new TermQuery(new Term(TOKENS, term(sorted[from])));
            int occurrences = to - from;
            builder.add(occurrences == 1 ? term : new BoostQuery(term, occurrences), BooleanClause.Occur.SHOULD);
        }
        return builder.build();
    }

    /** A token id as an index term. */
    static String term(int tokenId) {
        return Integer.toString(tokenId);
    }

    @Override
    public void close() {
        try {
            reader.close();
            directory.close();
        } catch (IOException e) {
            throw new UncheckedIOException("TF-IDF index " + dir + ": cannot close (" + e.getMessage() + ")", e);
        }
    }
}
