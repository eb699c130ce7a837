package dev.imprint.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFilesTest {
    @TempDir Path dir;

    @Test
    void writesAndReplacesLeavingNoTemporaryFile() throws IOException {
        Path target = dir.resolve("nested/out.txt");
        AtomicFiles.writeString(target, "first");
        AtomicFiles.writeString(target, "second");
        assertEquals("second", Files.readString(target));
        assertEquals(List.of("out.txt"), names(target.getParent()));
    }

    @Test
    void aFailingWriterLeavesThePreviousFileIntact() throws IOException {
        Path target = dir.resolve("out.txt");
        AtomicFiles.writeString(target, "previous");
        var e = assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(target, tmp -> {
            Files.writeString(tmp, "half of a new fi");
            throw new IOException("disk full");
        }));
        assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, tmp -> {
            Files.writeString(tmp, "half");
            throw new IllegalStateException("bug in the writer");
        }));
        assertEquals("previous", Files.readString(target));
        assertEquals(List.of("out.txt"), names(dir));
    }

    private static List<String> names(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
