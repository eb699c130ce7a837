package dev.imprint.data;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Little-endian, buffered, append-only writes to a new file. */
final class BinaryWriter implements Closeable {
    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private long written;
    /** CRC32C of everything written, for the store's {@code store.json}. */
    private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();

    BinaryWriter(Path path) throws IOException {
        channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    private ByteBuffer room(int bytes) throws IOException {
        if (buffer.remaining() < bytes) drain();
        written += bytes;
        return buffer;
    }

    void putShort(int v) throws IOException {
        room(2).putShort((short) v);
    }

    void putChar(char v) throws IOException {
        room(2).putChar(v);
    }

    void putInt(int v) throws IOException {
        room(4).putInt(v);
    }

    void putLong(long v) throws IOException {
        room(8).putLong(v);
    }

    void putBytes(byte[] bytes) throws IOException {
        drain();
        written += bytes.length;
        crc.update(bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) channel.write(b);
    }

    /** Bytes written so far. */
    long position() {
        return written;
    }

    /** The CRC32C of every byte written, as 8 hex digits (what the file's readers check it against). */
    String crc32c() throws IOException {
        drain();
        return dev.imprint.io.Crc32c.hex(crc.getValue());
    }

    private void drain() throws IOException {
        buffer.flip();
        crc.update(buffer.duplicate());
        while (buffer.hasRemaining()) channel.write(buffer);
        buffer.clear();
    }

    /** Flushes and forces the file to disk before closing. */
    @Override
    public void close() throws IOException {
        try (channel) {
            drain();
            channel.force(true);
        }
    }
}
