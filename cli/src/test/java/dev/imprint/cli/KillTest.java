package dev.imprint.cli;

import dev.imprint.io.OutputSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * kill -9 at seeded random moments, each run in its own JVM: of {@code query} and
 * {@code self-influence} writing into a folder that already holds a set (after every kill the folder
 * holds a complete set), and of the resumable stages {@code train}, {@code fit}, {@code index build}
 * and {@code corpus build} (a rerun ends byte-identical to an uninterrupted run).
 */
class KillTest {
    private static final int KILLS = 20;
    private static final long SEED = 20261203L;

    @Test
    void killedRunsLeaveTheOldSetOrTheNewOne(@TempDir Path dir) throws Exception {
        Path corpus = CliTest.corpus(dir), model = dir.resolve("model"), factors = dir.resolve("factors");
        String cache = dir.resolve("cache").toString();
        assertEquals(0, CliTest.run("train", "--corpus", corpus.toString(), "--out", model.toString(), "--preset", "tiny", "--steps", "20", "--cache", cache).code());
        assertEquals(0, CliTest.run("fit", "--model", model.toString(), "--corpus", corpus.toString(), "--out", factors.toString(),
                "--fitting-sequences", "16", "--cache", cache).code());
        List<String> common = List.of("--model", model.toString(), "--corpus", corpus.toString(), "--factors", factors.toString(), "--cache", cache);

        List<String> query = new ArrayList<>(List.of("query", "--prompt", "Call me", "--completion", " Ishmael", "--top", "3", "--candidates", "all"));
        query.addAll(common);
        query.addAll(List.of("--out", dir.resolve("results").toString()));
        killRepeatedly("query", query, dir.resolve("results"));

        List<String> self = new ArrayList<>(List.of("self-influence", "--top", "3"));
        self.addAll(common);
        self.addAll(List.of("--out", dir.resolve("self").toString()));
        killRepeatedly("self-influence", self, dir.resolve("self"));
    }

    /**
     * kill -9 of {@code train}, {@code fit}, {@code index build} and {@code corpus build}, 20 times each at seeded random
     * moments, every run continuing from what the killed one before it left; then a run to the end,
     * whose outputs must be byte-identical to an uninterrupted run's (training.json aside: it records
     * speed and the step a run resumed from; and the model's manifest, which holds its hash), with no
     * temporary file or folder left.
     */
    @Test
    void killedStagesResumeToTheSameBytes(@TempDir Path dir) throws Exception {
        Path corpus = CliTest.corpus(dir);
        String cache = dir.resolve("cache").toString();
        java.util.function.Function<Path, List<String>> train = out -> List.of("train", "--corpus", corpus.toString(), "--out", out.toString(),
                "--preset", "tiny", "--steps", "40", "--cache", cache);
        Path model = dir.resolve("model-reference");
        resumeAfterKills("train", train, model, dir.resolve("model-killed"), java.util.Set.of("training.json", "manifest.json"));
        // the manifest differs only through training.json's hash: it must hold for the killed-and-resumed folder's files
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "training.json"),
                dev.imprint.io.OutputSet.verifyListed(dir.resolve("model-killed")));

        java.util.function.Function<Path, List<String>> fit = out -> List.of("fit", "--model", model.toString(), "--corpus", corpus.toString(),
                "--out", out.toString(), "--fitting-sequences", "16", "--cache", cache);
        resumeAfterKills("fit", fit, dir.resolve("factors-reference"), dir.resolve("factors-killed"), java.util.Set.of());

        java.util.function.Function<Path, List<String>> index = out -> List.of("index", "build", "--model", model.toString(), "--corpus", corpus.toString(),
                "--factors", dir.resolve("factors-reference").toString(), "--directions", "4", "--out", out.toString(), "--cache", cache);
        resumeAfterKills("index build", index, dir.resolve("index-reference"), dir.resolve("index-killed"), java.util.Set.of());
        assertFalse(Files.exists(dir.resolve(".index-killed.partial")), "index build: its partial folder is removed once the index is committed");

        java.util.function.Function<Path, List<String>> build = out -> List.of("corpus", "build", "--corpus", corpus.toString(),
                "--tokenizer", model.resolve("tokenizer.json").toString(), "--seq-len", "32", "--out", out.toString());
        resumeAfterKills("corpus build", build, dir.resolve("store-reference"), dir.resolve("store-killed"), java.util.Set.of());
    }

    private static void resumeAfterKills(String command, java.util.function.Function<Path, List<String>> args, Path reference, Path out,
                                         java.util.Set<String> varying) throws Exception {
        long t0 = System.nanoTime();
        assertEquals(0, child(args.apply(reference)).waitFor(), command + " uninterrupted");
        double seconds = (System.nanoTime() - t0) / 1e9;
        SplittableRandom random = new SplittableRandom(SEED + command.hashCode());
        int finished = 0;
        for (int k = 0; k < KILLS; k++) {
            Process p = child(args.apply(out));
            if (p.waitFor((long) (random.nextDouble(0, seconds) * 1000), TimeUnit.MILLISECONDS)) {
                finished++;
            } else {
                p.destroyForcibly();
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            }
        }
        assertEquals(0, child(args.apply(out)).waitFor(), command + " after the kills");
        Map<String, byte[]> want = tree(reference), got = tree(out);
        want.keySet().removeAll(varying);
        got.keySet().removeAll(varying);
        assertEquals(want.keySet(), got.keySet(), command + ": the files");
        for (String f : want.keySet()) assertTrue(java.util.Arrays.equals(want.get(f), got.get(f)), command + ": " + f + " differs");
        assertFalse(got.keySet().stream().anyMatch(f -> f.endsWith(".tmp") || f.contains(".build-") || f.contains("checkpoint.")),
                command + ": temporaries left: " + got.keySet());
        System.out.printf("%s: %d kills over a %.1f s run (%d runs finished first), then a rerun: %d files byte-identical to the uninterrupted run%n",
                command, KILLS, seconds, finished, want.size());
    }

    /** Every file under {@code root}, by its path relative to it. */
    private static Map<String, byte[]> tree(Path root) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) out.put(root.relativize(p).toString(), Files.readAllBytes(p));
        }
        return out;
    }

    private static void killRepeatedly(String command, List<String> args, Path out) throws Exception {
        // a first, whole run in a child JVM: the set to protect, and how long a run takes
        long t0 = System.nanoTime();
        assertEquals(0, child(args).waitFor(), command + " in a child JVM");
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, byte[]> previous = snapshot(out);
        SplittableRandom random = new SplittableRandom(SEED + command.hashCode());
        int kept = 0, replaced = 0, finished = 0;
        for (int k = 0; k < KILLS; k++) {
            // half the kills anywhere in a run, half in its last part, where the files are written
            double at = k % 2 == 0 ? random.nextDouble(0, seconds) : random.nextDouble(0.6 * seconds, 1.05 * seconds);
            Process p = child(args);
            if (p.waitFor((long) (at * 1000), TimeUnit.MILLISECONDS)) {
                finished++;
            } else {
                p.destroyForcibly();
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            }
            // what a reader sees: the folder, or in the instant between the swap's two renames the old set beside it
            Path present = Files.isDirectory(out) ? out : out.resolveSibling("." + out.getFileName() + ".old");
            if (!Files.isDirectory(present)) fail(command + ", kill " + k + " at " + at + " s: neither " + out + " nor its old set exists");
            OutputSet.verify(present);
            Map<String, byte[]> now = snapshot(present);
            if (same(previous, now)) {
                kept++;
            } else {
                replaced++;
                previous = now;
            }
        }
        System.out.printf("%s: %d kills over a %.1f s run: %d left the previous set, %d a new whole set (%d runs finished first)%n",
                command, KILLS, seconds, kept, replaced - finished, finished);
        assertEquals(0, child(args).waitFor(), command + " rerun after the kills");
        OutputSet.verify(out);
        try (Stream<Path> siblings = Files.list(out.getParent())) {
            List<String> strays = siblings.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("." + out.getFileName() + ".") && !n.endsWith(".lock")).toList();
            assertEquals(List.of(), strays, "staging folders or an old set left beside " + out);
        }
        try (Stream<Path> files = Files.list(out)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files in " + out);
        }
    }

    private static boolean same(Map<String, byte[]> a, Map<String, byte[]> b) {
        if (!a.keySet().equals(b.keySet())) return false;
        for (String k : a.keySet()) if (!java.util.Arrays.equals(a.get(k), b.get(k))) return false;
        return true;
    }

    private static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) out.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return out;
    }

    /** The CLI in a new JVM with this JVM's module and compiler flags, its output discarded. */
    private static Process child(List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        List<String> flags = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < flags.size(); i++) {
            String a = flags.get(i);
            if (a.equals("--add-modules")) cmd.addAll(List.of(a, flags.get(++i)));
            else if (a.startsWith("--add-modules=") || a.startsWith("--enable-native-access") || a.startsWith("-XX:") || a.startsWith("-Dai.djl")) cmd.add(a);
        }
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }
}
