package dev.imprint.data;

import dev.imprint.InputException;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Strict UTF-8 decoding that names the file and the byte offset of the first bad byte (Java's
 * lenient decoders would silently put U+FFFD in the training text). A leading byte-order mark is
 * dropped.
 */
final class Utf8 {
    private Utf8() {}

    /** Decodes {@code bytes[from, to)}; {@code base} is the file offset of {@code bytes[from]}. */
    static String decode(byte[] bytes, int from, int to, String file, long base) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, from, to - from);
        CharBuffer out = CharBuffer.allocate(to - from); // a char takes at least one byte: never overflows
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        if (result.isError()) throw invalid(file, base + in.position() - from);
        if (result.isOverflow()) throw new IllegalStateException("UTF-8 output overflow");
        out.flip();
        if (base == 0 && out.hasRemaining() && out.charAt(0) == '\uFEFF') out.position(1);
        return out.toString();
    }

    /** The whole file as text. */
    static String readFile(Path path, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        return decode(bytes, 0, bytes.length, name, 0);
    }

    static InputException invalid(String file, long offset) {
        return new InputException(file + ": invalid UTF-8 at byte offset " + offset);
    }

    /**
     * A file read line by line without holding it whole; each line keeps its terminator
     * ({@code \n} or {@code \r\n}), so joining the lines gives back the file exactly.
     */
    static final class LineReader implements Closeable {
        private final InputStream in;
        private final String name;
        private final byte[] chunk = new byte[1 << 16];
        private int pos, limit;
        private byte[] line = new byte[256];
        private long offset; // file offset of the next line
        private long lineNumber;
        private boolean eof;

        LineReader(Path path, String name) throws IOException {
            this.in = Files.newInputStream(path);
            this.name = name;
        }

        /** The next line with its terminator, or null at the end of the file. */
        String next() throws IOException {
            int len = 0;
            while (true) {
                if (pos == limit) {
                    if (eof || !fill()) break;
                }
                int start = pos, nl = -1;
                for (int i = pos; i < limit; i++) {
                    if (chunk[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                int end = nl >= 0 ? nl + 1 : limit;
                if (len + end - start > line.length) line = Arrays.copyOf(line, Math.max(2 * line.length, len + end - start));
                System.arraycopy(chunk, start, line, len, end - start);
                len += end - start;
                pos = end;
                if (nl >= 0) break;
            }
            if (len == 0) return null;
            String text = decode(line, 0, len, name, offset);
            offset += len;
            lineNumber++;
            return text;
        }

        /** 1-based number of the line last returned. */
        long lineNumber() {
            return lineNumber;
        }

        /** Bytes consumed so far. */
        long offset() {
            return offset;
        }

        private boolean fill() throws IOException {
            int n = in.read(chunk);
            if (n <= 0) {
                eof = true;
                return false;
            }
            pos = 0;
            limit = n;
            return true;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
