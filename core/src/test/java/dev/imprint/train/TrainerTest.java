package dev.imprint.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.io.SafeTensors;
import dev.imprint.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {
    @Test
    void lossFallsAndHeldOutIsEvaluated(@TempDir Path out) {
        Trainer.Result r = TinyTraining.run(out, new Trainer.Listener() {});
        List<Trainer.Evaluation> e = r.evaluations();
        assertEquals(TinyTraining.STEPS / 6, e.size());
        double first = e.getFirst().heldOutLoss(), last = e.getLast().heldOutLoss();
        assertTrue(last < first - 0.3, "held-out loss should fall: " + first + " -> " + last);
        assertTrue(last < Math.log(64), "below the uniform entropy ln 64: " + last);
        assertTrue(Files.exists(out.resolve("model.safetensors")));
    }

    @Test
    void killDashNineThenResumeGivesTheSameWeights(@TempDir Path tmp) throws Exception {
        Path straight = tmp.resolve("straight"), killed = tmp.resolve("killed");
        Trainer.Result uninterrupted = TinyTraining.run(straight, new Trainer.Listener() {});

        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-XX:-TieredCompilation",
                "-Dimprint.threads=" + Parallel.threads(), "-cp", System.getProperty("java.class.path"),
                TinyTraining.class.getName(), killed.toString()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        Path state = killed.resolve("checkpoint/state.json");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int seen = 0;
        while (System.nanoTime() < deadline && child.isAlive()) {
            if (Files.exists(state)) {
                try {
                    seen = new ObjectMapper().readTree(state.toFile()).get("step").asInt();
                } catch (Exception partial) {
                    seen = 0; // replaced while reading
                }
                if (seen >= 9) break;
            }
            Thread.sleep(20);
        }
        assertTrue(child.isAlive(), "child finished before it could be killed; log: " + Files.readString(tmp.resolve("child.log")));
        child.destroyForcibly(); // SIGKILL
        child.waitFor(30, TimeUnit.SECONDS);
        assertTrue(seen >= 9 && seen < TinyTraining.STEPS, "killed mid-run after step " + seen);
        assertFalse(Files.exists(killed.resolve("model.safetensors")), "no final weights before the run completes");

        Trainer.Result resumed = TinyTraining.run(killed, new Trainer.Listener() {});
        assertTrue(resumed.resumedFrom() >= 9, "resumed from step " + resumed.resumedFrom());
        float[] a = SafeTensors.readAllFloats(straight.resolve("model.safetensors")).values().stream().reduce(TrainerTest::concat).orElseThrow();
        float[] b = SafeTensors.readAllFloats(killed.resolve("model.safetensors")).values().stream().reduce(TrainerTest::concat).orElseThrow();
        assertArrayEquals(a, b, "resumed weights must be bitwise identical to the uninterrupted run");
        assertEquals(uninterrupted.evaluations(), resumed.evaluations(), "the recorded training and held-out losses too");
    }

    private static float[] concat(float[] x, float[] y) {
        float[] r = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    @Test
    void theDrawnSetIsTheUnionOfEveryStepsBatchAndASubsetTrainsOnlyOnItself() {
        TrainingSettings full = TinyTraining.settings(), eight = new TrainingSettings(8, 4, new Schedule(3e-3f, 3e-4f, 1, 8),
                AdamW.Settings.defaults(), 1f, 42L, 0.1, 4, 8, 4);
        var source = TinyTraining.source();
        Trainer.Split split = Trainer.Split.of(source.size(), full);
        for (TrainingSettings s : List.of(full, eight)) {
            Trainer t = new Trainer(TinyTraining.CONFIG, source, s, Path.of("unused"), split);
            java.util.BitSet union = new java.util.BitSet();
            for (int step = 0; step < s.steps(); step++) for (int i : t.batchIndices(step)) union.set(i);
            assertEquals(union, Trainer.drawn(split, s), s.steps() + " steps");
        }
        assertTrue(Trainer.drawn(split, eight).cardinality() < split.train().length, "32 draws of " + split.train().length + " see only part of the split");
        // a run restricted to a subset draws from nothing else, and keeps the held-out split
        int[] half = java.util.Arrays.copyOf(split.trainSorted(), split.train().length / 2);
        Trainer.Split sub = split.restrictedTo(half);
        java.util.BitSet allowed = new java.util.BitSet();
        for (int i : half) allowed.set(i);
        java.util.BitSet drawn = Trainer.drawn(sub, full);
        drawn.andNot(allowed);
        assertTrue(drawn.isEmpty(), "drawn outside the subset: " + drawn);
        assertArrayEquals(split.heldOut(), sub.heldOut());
        assertThrows(IllegalArgumentException.class, () -> split.restrictedTo(split.heldOut()));
    }

    @Test
    void scheduleWarmsUpThenDecaysToTheFloor() {
        Schedule s = new Schedule(1f, 0.1f, 10, 110);
        assertEquals(0.1f, s.at(0), 1e-6);
        assertEquals(1f, s.at(9), 1e-6);
        assertEquals(0.55f, s.at(60), 1e-3);
        assertEquals(0.1f, s.at(110), 1e-6);
        assertTrue(s.at(30) > s.at(31));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Schedule(1f, 2f, 1, 10));
        assertEquals("final learning rate 2.0 outside [0, 1.0]", e.getMessage());
    }

    @Test
    void clippingBoundsTheGlobalNorm() {
        float[] g = {3f, 4f};
        Trainer.scaleAndClip(java.util.List.of(g), 1f, 1f);
        assertEquals(0.6f, g[0], 1e-6);
        assertEquals(0.8f, g[1], 1e-6);
        float[] h = {3f, 4f};
        Trainer.scaleAndClip(java.util.List.of(h), 0.1f, 1f); // norm 0.5 after scaling: untouched
        assertEquals(0.3f, h[0], 1e-6);
    }
}
