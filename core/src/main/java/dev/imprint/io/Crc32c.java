package dev.imprint.io;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/** CRC32C of mapped file contents: the content checksums of factor files and stores (method §3.5). */
public final class Crc32c {
    private Crc32c() {}

    /** The CRC32C of {@code s}'s bytes, fed in slices a ByteBuffer can hold. */
    public static int of(MemorySegment s) {
        CRC32C crc = new CRC32C();
        for (long at = 0; at < s.byteSize(); at += 1 << 30)
            crc.update(s.asSlice(at, Math.min(1L << 30, s.byteSize() - at)).asByteBuffer());
        return (int) crc.getValue();
    }

    /**
     * The CRC32C of a file's contents, read through a small buffer: unlike a mapping that stays
     * open, this leaves none of the file's pages counted in the process's resident memory.
     */
    public static int of(java.nio.channels.FileChannel ch) throws java.io.IOException {
        CRC32C crc = new CRC32C();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 20);
        for (long at = 0; ; ) {
            int n = ch.read(buf.clear(), at);
            if (n < 0) break;
            crc.update(buf.flip());
            at += n;
        }
        return (int) crc.getValue();
    }

    /** A checksum as the 8 lower-case hex digits the files record. */
    public static String hex(long crc) {
        return String.format("%08x", crc & 0xffffffffL);
    }
}
