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
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) channel.write(b);
    }

    /** Bytes written so far. */
    long position() {
        return written;
    }

    private void drain() throws IOException {
        buffer.flip();
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
