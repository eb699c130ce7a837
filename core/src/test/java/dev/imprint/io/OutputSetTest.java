package dev.imprint.io;

import dev.imprint.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OutputSet} and {@link OutputLock}: a set is replaced whole or not at all; every state a
 * killed run can leave is repaired on the next open; a second run, in this process or another, is
 * refused with one line; folders holding other files are not replaced.
 */
class OutputSetTest {
    private static final Set<String> FILES = Set.of("a.txt", "b.txt");

    @TempDir
    Path tmp;

    private Path committedSet(String content) throws IOException {
        Path dir = tmp.resolve("out");
        try (OutputSet set = OutputSet.open(dir, "test", FILES)) {
            Files.writeString(set.staging().resolve("a.txt"), "a " + content);
            Files.writeString(set.staging().resolve("b.txt"), "b " + content);
            set.commit();
        }
        return dir;
    }

    /** Every entry under tmp (names relative to it) with file contents; folders as "/". */
    private Map<String, String> snapshot() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(tmp)) {
            for (Path p : walk.toList()) {
                if (p.equals(tmp)) continue;
                String name = tmp.relativize(p).toString();
                if (name.endsWith(".lock")) continue; // the lock file stays beside the folder by design
                out.put(name, Files.isDirectory(p) ? "/" : Files.readString(p));
            }
        }
        return out;
    }

    @Test
    void commitReplacesTheWholeSetAndTheManifestVerifies() throws IOException {
        Path dir = committedSet("one");
        try (OutputSet set = OutputSet.open(dir, "test", FILES)) {
            Files.writeString(set.staging().resolve("a.txt"), "a two");
            set.commit();
        }
        assertEquals("a two", Files.readString(dir.resolve("a.txt")));
        assertFalse(Files.exists(dir.resolve("b.txt")), "b.txt belonged to the previous set only");
        assertEquals(List.of("a.txt"), OutputSet.verify(dir));
        assertEquals(Set.of("out", "out/a.txt", "out/" + OutputSet.MANIFEST), snapshot().keySet(), "no staging or old folder is left");
    }

    @Test
    void anUncommittedRunLeavesThePreviousSetUntouched() throws IOException {
        Path dir = committedSet("one");
        Map<String, String> before = snapshot();
        try (OutputSet set = OutputSet.open(dir, "test", FILES)) {
            Files.writeString(set.staging().resolve("a.txt"), "half written");
            // the command fails here: no commit
        }
        assertEquals(before, snapshot());
    }

    @Test
    void keepAllButCarriesTheRestOfTheSet() throws IOException {
        Path dir = committedSet("one");
        try (OutputSet set = OutputSet.open(dir, "test", FILES)) {
            set.keepAllBut("b.txt");
            Files.writeString(set.staging().resolve("b.txt"), "b two");
            set.commit();
        }
        assertEquals("a one", Files.readString(dir.resolve("a.txt")));
        assertEquals("b two", Files.readString(dir.resolve("b.txt")));
        OutputSet.verify(dir);
    }

    /** The states a kill -9 can leave inside commit(), each repaired by the next open. */
    @Test
    void everyInterruptedSwapIsRepairedOnOpen() throws IOException {
        Path dir = committedSet("one");
        Map<String, String> before = snapshot();
        Path old = tmp.resolve(".out.old"), staging = tmp.resolve(".out.staging-killed");
        // killed after the first rename: no folder, the old set beside it, a staging folder
        Files.move(dir, old);
        Files.createDirectory(staging);
        Files.writeString(staging.resolve("a.txt"), "new");
        OutputSet.open(dir, "test", FILES).close();
        assertEquals(before, snapshot(), "the old set is back, the staging folder gone");
        // killed after the second rename, before the old set was deleted
        Path copy = Files.createDirectory(old);
        Files.writeString(copy.resolve("a.txt"), "older");
        OutputSet.open(dir, "test", FILES).close();
        assertEquals(before, snapshot());
        // a temporary file of AtomicFiles inside the folder
        Files.writeString(dir.resolve(".a.txt.123.tmp"), "partial");
        OutputSet.open(dir, "test", FILES).close();
        assertEquals(before, snapshot());
    }

    @Test
    void verifyNamesAChangedMissingOrStrayFile() throws IOException {
        Path dir = committedSet("one");
        Files.writeString(dir.resolve("a.txt"), "edited");
        assertEquals(dir + ": a.txt differs from the file that was written (its SHA-256 is not the manifest's)",
                assertThrows(InputException.class, () -> OutputSet.verify(dir)).getMessage());
        Files.delete(dir.resolve("a.txt"));
        assertEquals(dir + ": a.txt is listed in manifest.json but missing", assertThrows(InputException.class, () -> OutputSet.verify(dir)).getMessage());
        committedSet("two");
        Files.writeString(dir.resolve("c.txt"), "stray");
        assertEquals(dir + ": c.txt is not part of the output set in manifest.json", assertThrows(InputException.class, () -> OutputSet.verify(dir)).getMessage());
    }

    @Test
    void foldersThatAreNotImprintSetsAreNotReplaced() throws IOException {
        Path foreign = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(foreign.resolve("notes.txt"), "keep me");
        InputException e = assertThrows(InputException.class, () -> OutputSet.open(foreign, "test", FILES));
        assertEquals(foreign + " holds notes.txt, which test does not write, and no manifest.json; choose a new or empty folder", e.getMessage());
        assertEquals("keep me", Files.readString(foreign.resolve("notes.txt")));
        // a set from before manifests: only the command's own files, so it is replaced
        Path older = Files.createDirectories(tmp.resolve("older"));
        Files.writeString(older.resolve("a.txt"), "a zero");
        try (OutputSet set = OutputSet.open(older, "test", FILES)) {
            Files.writeString(set.staging().resolve("a.txt"), "a one");
            set.commit();
        }
        assertEquals("a one", Files.readString(older.resolve("a.txt")));
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertEquals(file + " is a file; the output must be a folder",
                assertThrows(InputException.class, () -> OutputSet.open(file, "test", FILES)).getMessage());
    }

    @Test
    void aSecondRunInThisProcessIsRefused() throws IOException {
        Path dir = tmp.resolve("out");
        try (OutputSet first = OutputSet.open(dir, "query", FILES)) {
            InputException e = assertThrows(InputException.class, () -> OutputSet.open(dir, "query", FILES));
            assertEquals(InputException.BUSY, e.exitCode());
            assertTrue(e.getMessage().startsWith(dir + " is being written by another imprint run (pid " + ProcessHandle.current().pid() + ", query, since "),
                    e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
        OutputSet.open(dir, "query", FILES).close(); // released on close
    }

    /** The lock is the operating system's: another process holding it is seen, and its death frees it. */
    @Test
    void aLockHeldByAnotherProcessIsRefusedUntilThatProcessDies() throws Exception {
        Path dir = tmp.resolve("out");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("locked", r.readLine());
            InputException e = assertThrows(InputException.class, () -> OutputSet.open(dir, "query", FILES));
            assertTrue(e.getMessage().contains("(pid " + holder.pid() + ", holder, since "), e.getMessage());
            holder.destroyForcibly(); // kill -9
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        OutputSet.open(dir, "query", FILES).close();
    }

    /** Locks a folder, says so, and waits to be killed. */
    public static final class Holder {
        public static void main(String[] args) throws InterruptedException {
            OutputLock lock = OutputLock.acquire(Path.of(args[0]), "holder");
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(120_000);
            lock.close();
        }
    }
}
