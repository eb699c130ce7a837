package dev.imprint.data;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsoleProgressTest {
    @Test
    void drawsABarWithTheTaskName() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress progress = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        progress.start("Tokenizing corpus", 3L << 20, Progress.Unit.BYTES);
        progress.step(1L << 20);
        progress.step(2L << 20);
        progress.done();
        progress.done(); // a second done is harmless
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("Tokenizing corpus") && out.contains("100%") && out.contains("3/3 MiB"), out);
    }
}
