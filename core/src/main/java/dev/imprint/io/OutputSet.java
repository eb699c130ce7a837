package dev.imprint.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One command's output folder, committed as a unit: the command writes its whole set of files into
 * a staging folder beside the output folder, and {@link #commit()} swaps the staging folder in. A
 * reader therefore sees either the previous set or the new one, never files of two runs — whether
 * the run is killed, the disk fills up, or the command fails halfway.
 *
 * <p>The swap is two renames on one file system: the current folder to {@code .NAME.old}, then the
 * staging folder ({@code .NAME.staging-…}) to NAME, then the old set is deleted. A run killed between
 * the renames leaves no NAME but a complete {@code .NAME.old}; the next {@link #open} of the folder
 * moves it back. Leftover staging folders of killed runs are deleted on open. The folder is locked
 * ({@link OutputLock}) from open to close.
 *
 * <p>Every committed set carries {@value #MANIFEST}: the command and the SHA-256 of each file. A
 * folder that holds files but no manifest is replaced only if every file in it is one the command
 * writes (a set written before manifests existed); otherwise it holds someone else's files, and is
 * refused rather than replaced (they would be lost).
 */
public final class OutputSet implements AutoCloseable {
    public static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final OutputLock lock;
    private final String command;
    private final Path dir, staging;
    private boolean committed;

    private OutputSet(OutputLock lock, String command, Path staging) {
        this.lock = lock;
        this.command = command;
        this.dir = lock.dir();
        this.staging = staging;
    }

    /**
     * Locks {@code dir} for {@code command}, repairs an interrupted swap, removes stale staging
     * folders and creates an empty staging folder. Refuses (one line) a folder another run holds,
     * a file, or a folder without a manifest holding files other than {@code commandFiles} (the
     * names the command writes).
     */
    public static OutputSet open(Path dir, String command, Set<String> commandFiles) {
        OutputLock lock = OutputLock.acquire(dir, command);
        try {
            Path abs = lock.dir(), old = old(abs);
            if (Files.isDirectory(old)) {
                if (Files.exists(abs)) AtomicFiles.deleteTree(old); // the swap had finished: only the old set's deletion was cut short
                else move(old, abs);                                // cut short between the renames: the old set comes back
            }
            try (Stream<Path> siblings = Files.list(abs.getParent())) {
                String prefix = "." + abs.getFileName() + ".staging-";
                for (Path p : siblings.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) AtomicFiles.deleteTree(p);
            }
            if (Files.isDirectory(abs) && !Files.exists(abs.resolve(MANIFEST))) {
                try (Stream<Path> entries = Files.list(abs)) {
                    for (Path p : entries.toList())
                        if (!commandFiles.contains(p.getFileName().toString()) || !Files.isRegularFile(p))
                            throw new InputException(dir + " holds " + p.getFileName() + ", which " + command
                                    + " does not write, and no " + MANIFEST + "; choose a new or empty folder");
                }
            }
            Path staging = abs.resolveSibling("." + abs.getFileName() + ".staging-" + UUID.randomUUID());
            Files.createDirectory(staging);
            return new OutputSet(lock, command, staging);
        } catch (IOException e) {
            lock.close();
            throw new UncheckedIOException("cannot prepare " + dir + " (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Where the command writes its files; they become {@link #dir()}'s contents on {@link #commit()}. */
    public Path staging() {
        return staging;
    }

    /** The output folder. */
    public Path dir() {
        return dir;
    }

    /**
     * Copies every file of the current set except the manifest and {@code replaced} into the staging
     * folder, for a command that rewrites some files of a set and keeps the rest (report re-rendering
     * a results folder).
     */
    public void keepAllBut(String... replaced) {
        if (!Files.isDirectory(dir)) return;
        Set<String> skip = new TreeSet<>(List.of(replaced));
        skip.add(MANIFEST);
        try {
            for (String name : fileNames(dir))
                if (!skip.contains(name)) Files.copy(dir.resolve(name), staging.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + dir + " into " + staging + " (" + e.getMessage() + ")", e);
        }
    }

    /** Writes the manifest and swaps the staging folder in as the output folder. */
    public void commit() {
        if (committed) throw new IllegalStateException(dir + " is already committed");
        try {
            writeManifest(staging, command, fileNames(staging));
            Path old = old(dir);
            if (Files.exists(dir)) move(dir, old);
            move(staging, dir);
            AtomicFiles.deleteTree(old);
            committed = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot commit " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Writes {@code dir}/{@value #MANIFEST}, atomically: {@code command} and the SHA-256 of each of
     * {@code names} (files in {@code dir}). For a folder whose files are written in place one after
     * another (a trained model beside its checkpoint), the manifest is removed before the first
     * and written after the last, so that readers can tell a whole set from a partial one.
     */
    public static void writeManifest(Path dir, String command, List<String> names) throws IOException {
        ObjectNode manifest = JSON.createObjectNode().put("command", command);
        ObjectNode files = manifest.putObject("files");
        for (String name : names) files.put(name, Sha256.of(List.of(dir.resolve(name))));
        AtomicFiles.writeString(dir.resolve(MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest) + "\n");
    }

    /**
     * The files of a committed set, checked against its manifest: a missing, changed or unlisted
     * file is refused with one line naming it.
     */
    public static List<String> verify(Path dir) {
        List<String> listed = verifyListed(dir);
        try {
            for (String name : fileNames(dir))
                if (!name.equals(MANIFEST) && !listed.contains(name)) throw new InputException(dir + ": " + name + " is not part of the output set in " + MANIFEST);
        } catch (IOException e) {
            throw new InputException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
        return listed;
    }

    /**
     * The files {@code dir}'s manifest lists, each checked: a missing or changed one is refused with
     * one line naming it. Other files in the folder are not looked at.
     */
    public static List<String> verifyListed(Path dir) {
        Path manifestFile = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) throw InputException.notFound(dir + ": no " + MANIFEST + " (not an Imprint output folder)");
        try {
            var files = JSON.readTree(manifestFile.toFile()).path("files");
            if (!files.isObject()) throw new InputException(manifestFile + ": no \"files\" object");
            Set<String> listed = new TreeSet<>();
            for (var it = files.fields(); it.hasNext(); ) {
                var e = it.next();
                listed.add(e.getKey());
                String name = e.getKey();
                if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\"))
                    throw new InputException(manifestFile + ": lists '" + name + "', which is not a file name in the folder");
                Path f = dir.resolve(name);
                if (!Files.isRegularFile(f))
                    throw InputException.notFound(dir + ": " + e.getKey() + " is listed in " + MANIFEST + " but missing");
                if (!Sha256.of(List.of(f)).equals(e.getValue().asText()))
                    throw new InputException(dir + ": " + e.getKey() + " differs from the file that was written (its SHA-256 is not the manifest's)");
            }
            return List.copyOf(listed);
        } catch (IOException e) {
            throw new InputException(manifestFile + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** Deletes the staging folder of an uncommitted run and releases the lock. */
    @Override
    public void close() {
        try {
            if (!committed) AtomicFiles.deleteTree(staging);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + staging + " (" + e.getMessage() + ")", e);
        } finally {
            lock.close();
        }
    }

    private static Path old(Path dir) {
        return dir.resolveSibling("." + dir.getFileName() + ".old");
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /** Names of the regular files directly in {@code dir}, sorted. */
    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
