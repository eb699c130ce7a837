package dev.imprint.data;

/**
 * The data files of a store, all little-endian, with their fixed-size records. The one list that
 * both the writer and the reader follow.
 */
enum StoreFile {
    /** Token ids of all sequences back to back: uint16 or int32 ({@link StoreInfo#tokenBytes()}). */
    TOKENS("tokens.bin", 0),
    /** Per token: int32 charStart, int32 charEnd, in its document (UTF-16 chars). */
    OFFSETS("offsets.bin", 8),
    /** Per sequence: int64 first token (index into tokens.bin), int32 length, int32 first piece. */
    SEQUENCES("sequences.bin", 16),
    /** Per piece: int32 document, tokenStart, tokenEnd, charStart, charEnd, flags (bit 0: ends document). */
    PIECES("pieces.bin", 24),
    /** Per document: int64 text offset (chars, in texts.bin), int64 JSON offset (bytes, in documents.jsonl),
     *  int32 char length, int32 JSON length, int32 token count (without end-of-text), int32 reserved. */
    DOCUMENTS("documents.bin", 32),
    /** Per document one line {"id", "source", "metadata"}. */
    DOCUMENTS_JSON("documents.jsonl", 0),
    /** All document texts back to back, UTF-16LE, so char spans index it directly. */
    TEXTS("texts.bin", 0);

    final String fileName;
    final int recordBytes;

    StoreFile(String fileName, int recordBytes) {
        this.fileName = fileName;
        this.recordBytes = recordBytes;
    }

    /** The size the file must have, or -1 when the counts do not determine it. */
    long expectedBytes(StoreInfo info) {
        return switch (this) {
            case TOKENS -> info.tokens() * info.tokenBytes();
            case OFFSETS -> info.tokens() * recordBytes;
            case SEQUENCES -> (long) info.sequences() * recordBytes;
            case PIECES -> (long) info.pieces() * recordBytes;
            case DOCUMENTS -> (long) info.documents() * recordBytes;
            case TEXTS -> info.chars() * 2;
            case DOCUMENTS_JSON -> -1;
        };
    }
}
