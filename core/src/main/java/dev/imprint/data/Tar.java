package dev.imprint.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The regular files of a (ustar / pax) tar stream, as npm writes them. Only what reading an npm
 * package needs: names (with the ustar prefix, pax {@code path} and GNU long names), sizes, and
 * contents; links and special files are skipped.
 */
final class Tar {
    private static final int BLOCK = 512;

    private Tar() {}

    /** Receives one regular file; {@code content} holds exactly its bytes. */
    @FunctionalInterface
    interface EntryHandler {
        void file(String name, long size, InputStream content) throws IOException;
    }

    static void forEachFile(InputStream in, EntryHandler handler) throws IOException {
        byte[] header = new byte[BLOCK];
        String longName = null; // from a pax 'x' or GNU 'L' entry, applies to the next entry
        while (readBlock(in, header)) {
            if (isZero(header)) return; // end-of-archive marker
            checkChecksum(header);
            long size = octal(header, 124, 12);
            char type = (char) header[156];
            String name = longName != null ? longName : ustarName(header);
            longName = null;
            if (type == 'x' || type == 'L') {
                if (size > 1 << 20) throw new IOException("tar: extended header of " + size + " bytes");
                byte[] data = in.readNBytes((int) size);
                if (data.length != size) throw new IOException("tar: truncated extended header");
                skipPadding(in, size);
                longName = type == 'L' ? cString(data, 0, data.length) : paxPath(data);
                continue;
            }
            BoundedStream content = new BoundedStream(in, size);
            if (type == '0' || type == 0) handler.file(name, size, content);
            content.skipRest();
            skipPadding(in, size);
        }
        // end of stream at a block boundary without the zero blocks: accepted, as GNU tar does
    }

    private static boolean readBlock(InputStream in, byte[] block) throws IOException {
        int n = in.readNBytes(block, 0, BLOCK);
        if (n == 0) return false;
        if (n != BLOCK) throw new IOException("tar: truncated header");
        return true;
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    /** The header checksum: the byte sum of the header with the checksum field read as spaces. */
    private static void checkChecksum(byte[] h) throws IOException {
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        if (sum != octal(h, 148, 8)) throw new IOException("tar: bad header checksum (not a tar archive?)");
    }

    private static String ustarName(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** The {@code path} record of pax extended header data ("LEN path=VALUE\n" records). */
    private static String paxPath(byte[] data) throws IOException {
        int at = 0;
        String path = null;
        while (at < data.length) {
            int space = at;
            while (space < data.length && data[space] != ' ') space++;
            int len = Integer.parseInt(new String(data, at, space - at, StandardCharsets.US_ASCII));
            if (len <= 0 || at + len > data.length) throw new IOException("tar: bad pax record");
            String record = new String(data, space + 1, at + len - space - 2, StandardCharsets.UTF_8);
            if (record.startsWith("path=")) path = record.substring(5);
            at += len;
        }
        return path;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] b, int off, int len) throws IOException {
        long v = 0;
        int i = off;
        while (i < off + len && b[i] == ' ') i++;
        for (; i < off + len && b[i] >= '0' && b[i] <= '7'; i++) v = v * 8 + (b[i] - '0');
        if (i < off + len && b[i] != 0 && b[i] != ' ') throw new IOException("tar: bad number field");
        return v;
    }

    private static void skipPadding(InputStream in, long size) throws IOException {
        long pad = (BLOCK - size % BLOCK) % BLOCK;
        in.skipNBytes(pad);
    }

    /** The next {@code size} bytes of the archive. */
    private static final class BoundedStream extends InputStream {
        private final InputStream in;
        private long left;

        BoundedStream(InputStream in, long size) {
            this.in = in;
            this.left = size;
        }

        @Override
        public int read() throws IOException {
            if (left == 0) return -1;
            int b = in.read();
            if (b < 0) throw new IOException("tar: truncated entry");
            left--;
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (left == 0) return -1;
            int n = in.read(buf, off, (int) Math.min(len, left));
            if (n < 0) throw new IOException("tar: truncated entry");
            left -= n;
            return n;
        }

        @Override
        public void close() {
            // the archive stream stays open
        }

        void skipRest() throws IOException {
            in.skipNBytes(left);
            left = 0;
        }
    }
}
