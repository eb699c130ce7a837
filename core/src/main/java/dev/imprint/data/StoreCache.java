package dev.imprint.data;

import dev.imprint.InputException;
import dev.imprint.io.Sha256;
import dev.imprint.model.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Where the sequence store of a corpus lives: {@code <cache>/stores/<key>}, keyed by the corpus
 * location, tokenizer and sequence length. The store's own fingerprint (corpus content included)
 * decides whether it is reused or rebuilt. A path that already is a store is opened as it is.
 */
public final class StoreCache {
    private StoreCache() {}

    /** The store for {@code corpus} (a corpus file or folder, or a built store folder). */
    public static SequenceStore forCorpus(Path corpus, Path cacheDir, Tokenizer tokenizer, String tokenizerId, int seqLen, Progress progress) {
        if (!Files.exists(corpus)) throw InputException.notFound(corpus + ": no such corpus file or folder");
        if (Files.isRegularFile(corpus.resolve(SequenceStore.STORE_JSON))) {
            SequenceStore store = SequenceStore.open(corpus);
            if (store.seqLen() != seqLen)
                throw new InputException(corpus + ": store has sequences of " + store.seqLen() + " tokens, expected " + seqLen);
            return store;
        }
        String key = sha256(corpus.toAbsolutePath().normalize() + "|" + tokenizerId + "|" + seqLen).substring(0, 16);
        return SequenceStore.openOrBuild(corpus, cacheDir.resolve("stores").resolve(key), tokenizer, tokenizerId, seqLen, progress);
    }

    /** SHA-256 of a file's bytes, hex: the identity of a tokenizer.json or a weights file. */
    public static String fileId(Path file) {
        try {
            return Sha256.of(List.of(file));
        } catch (IOException e) {
            throw new InputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    static String sha256(String s) {
        return HexFormat.of().formatHex(digest().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
