package dev.imprint.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Every output is written to a temporary file beside its destination and renamed into place, so a
 * killed run leaves either the old file or the new one, never half of one.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Something that writes a whole file. */
    @FunctionalInterface
    public interface Writer {
        void write(Path tmp) throws IOException;
    }

    /** Writes {@code target} through a temporary sibling and an atomic rename. */
    public static void write(Path target, Writer writer) {
        try (Pending p = begin(target)) {
            try {
                writer.write(p.tmp());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
            }
            p.commit();
        }
    }

    /**
     * Starts writing {@code target} in pieces: {@link Pending#tmp()} is an empty temporary sibling,
     * renamed into place by {@link Pending#commit()} and deleted by {@link Pending#close()} when
     * it was not committed (a failure half-way leaves the old file, or none).
     */
    public static Pending begin(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            readableByAll(tmp); // temp files are created 0600; outputs are ordinary files
            return new Pending(target, tmp);
        } catch (IOException e) {
            if (tmp != null) new Pending(target, tmp).close();
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    /** A file being written beside its destination. */
    public static final class Pending implements AutoCloseable {
        private final Path target, tmp;
        private boolean committed;

        private Pending(Path target, Path tmp) {
            this.target = target;
            this.tmp = tmp;
        }

        public Path tmp() {
            return tmp;
        }

        /** Renames the temporary file onto the destination, atomically where the file system can. */
        public void commit() {
            try {
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                committed = true;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
            }
        }

        /** Deletes the temporary file unless it was committed. */
        @Override
        public void close() {
            if (committed) return;
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original failure is the one worth reporting
            }
        }
    }

    private static void readableByAll(Path p) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // non-POSIX file systems keep their default permissions
        }
    }

    /** Writes a string (UTF-8) atomically. */
    public static void writeString(Path target, String content) {
        write(target, tmp -> Files.writeString(tmp, content));
    }

    /** Deletes a file or a folder with everything under it (deepest first); nothing when it does not exist. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
