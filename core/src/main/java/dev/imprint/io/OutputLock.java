package dev.imprint.io;

import dev.imprint.InputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.stream.Stream;

/**
 * An exclusive OS file lock on an output folder, held for the whole of a command that writes it, so
 * that two runs never write the same folder at once. The lock file is {@code .NAME.lock} beside the
 * folder (it must outlive the folder, which {@link OutputSet} replaces); it says which run holds it,
 * and a second run is refused with one line naming that run (exit code {@value InputException#BUSY}).
 * The OS releases the lock when its process dies, so a killed run never leaves a folder locked.
 *
 * <p>Taking the lock also removes what a killed run of this folder left behind: temporary files
 * ({@code .*.tmp}, see {@link AtomicFiles}) inside the folder.
 */
public final class OutputLock implements AutoCloseable {
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /** The folder this lock guards. */
    public Path dir() {
        return dir;
    }

    /**
     * Locks {@code dir} (which need not exist yet; its parent is created) for {@code command}, or
     * refuses with one line when another run holds it or {@code dir} is a file.
     */
    public static OutputLock acquire(Path dir, String command) {
        Path abs = dir.toAbsolutePath().normalize();
        if (abs.getParent() == null) throw new InputException(dir + " cannot be an output folder (it has no parent folder)");
        if (Files.isRegularFile(abs)) throw new InputException(dir + " is a file; the output must be a folder");
        Path lockFile = lockFile(abs);
        FileChannel channel = null;
        try {
            Files.createDirectories(abs.getParent());
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw InputException.busy(dir + " is being written by another imprint run" + (holder.isEmpty() ? "" : " (" + holder + ")")
                        + "; wait for it to finish or choose another folder");
            }
            channel.truncate(0);
            String me = "pid " + ProcessHandle.current().pid() + ", " + command + ", since " + Instant.now().truncatedTo(ChronoUnit.SECONDS);
            channel.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
            removeTemporaries(abs);
            return new OutputLock(abs, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot lock " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static Path lockFile(Path dir) {
        return dir.resolveSibling("." + dir.getFileName() + ".lock");
    }

    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        channel.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }

    /** Temporary files AtomicFiles left in {@code dir} when a run was killed. */
    private static void removeTemporaries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(".") && name.endsWith(".tmp") && Files.isRegularFile(p)) Files.deleteIfExists(p);
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // the failure being reported is the original one
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release the lock on " + dir + " (" + e.getMessage() + ")", e);
        }
    }
}
