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

    /** A checksum as the 8 lower-case hex digits the files record. */
    public static String hex(long crc) {
        return String.format("%08x", crc & 0xffffffffL);
    }
}
