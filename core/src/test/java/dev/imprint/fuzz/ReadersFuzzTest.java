package dev.imprint.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.imprint.InputException;
import dev.imprint.data.Corpus;
import dev.imprint.io.SafeTensors;
import dev.imprint.model.HfConfig;
import dev.imprint.model.HfTokenizer;
import dev.imprint.report.ResultsJson;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the readers of user files: the safetensors reader, config.json,
 * tokenizer.json, the corpus readers (JSON lines and text with separators) and results.json. For
 * any bytes a reader either succeeds or throws the project's {@link InputException}; anything else
 * (a NullPointerException, an IndexOutOfBoundsException, a Jackson exception let through, an
 * OutOfMemoryError) is a crash.
 *
 * <p>{@code mvn verify} runs each target on its seed inputs (src/test/resources/…/ReadersFuzzTestInputs)
 * as a regression test. A campaign of 10⁶ executions (or 30 minutes) per target, one target per run:
 * {@code JAZZER_FUZZ=1 mvn -pl core test -Dtest=ReadersFuzzTest#safetensors} (the corpus it grows is
 * kept in {@code core/.cifuzz-corpus}, a crashing input is written beside the seeds).
 */
class ReadersFuzzTest {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("imprint-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path file(String name, byte[] data) throws IOException {
        Path f = DIR.resolve(name);
        Files.write(f, data);
        return f;
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void safetensors(byte[] data) throws IOException {
        Path f = file("model.safetensors", data);
        try (SafeTensors st = SafeTensors.open(f)) {
            for (SafeTensors.Info info : st.tensors().values()) {
                if (info.elements() > 1 << 20) continue; // large but well-formed: reading it is not the reader's risk
                switch (info.dtype()) {
                    case F64 -> st.doubles(info.name());
                    case I64 -> st.longs(info.name());
                    default -> st.floats(info.name());
                }
            }
        } catch (InputException expected) {
            // one line naming the problem: the right answer
        }
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void config(byte[] data) throws IOException {
        Path f = file("config.json", data);
        try {
            HfConfig.read(f).layout();
        } catch (InputException expected) {
            // refused with one line
        }
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void tokenizer(byte[] data) throws IOException {
        Path f = file("tokenizer.json", data);
        try (HfTokenizer t = HfTokenizer.load(f, () -> 0)) {
            t.decode(t.encode("Call me Ishmael."));
        } catch (InputException expected) {
            // refused with one line
        }
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void jsonLinesCorpus(byte[] data) throws IOException {
        Path f = file("corpus.jsonl", data);
        try {
            Corpus.open(f).forEach(d -> d.text().length());
        } catch (InputException expected) {
            // refused with one line
        }
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void textCorpus(byte[] data) throws IOException {
        Path f = file("corpus.txt", data);
        try {
            Corpus.open(f).forEach(d -> d.text().length());
        } catch (InputException expected) {
            // refused with one line
        }
    }

    @FuzzTest(maxExecutions = 1_000_000, maxDuration = "30m")
    void results(byte[] data) throws IOException {
        Path dir = Files.createDirectories(DIR.resolve("results"));
        Files.write(dir.resolve(ResultsJson.FILE), data);
        try {
            ResultsJson.read(dir);
        } catch (InputException expected) {
            // refused with one line
        }
    }
}
