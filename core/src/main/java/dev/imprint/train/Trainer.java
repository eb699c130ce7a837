package dev.imprint.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;
import dev.imprint.data.SequenceSource;
import dev.imprint.io.AtomicFiles;
import dev.imprint.io.SafeTensors;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.HfConfig;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.Transformer;
import dev.imprint.model.LayerSelection;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a transformer of any family on a {@link SequenceSource} with AdamW, a warm-up + cosine schedule and global
 * gradient clipping, minimizing the mean next-token NLL per batch. Checkpoints go to
 * {@code out/checkpoint/} (weights, optimizer moments, step) through a directory swap, so a run
 * killed at any moment resumes from its last complete checkpoint and, with the same seed and
 * thread count, ends with the same weights as an uninterrupted run. The finished model is written
 * as {@code out/config.json} and {@code out/model.safetensors} (Hugging Face layout; the caller
 * adds {@code tokenizer.json}).
 */
public final class Trainer {
    /** One held-out evaluation. */
    public record Evaluation(int step, double trainLoss, double heldOutLoss) {}

    /** What a finished run reports. */
    public record Result(int steps, int resumedFrom, List<Evaluation> evaluations, double tokensPerSecond, long tokens) {}

    /** Progress callbacks (the CLI draws a progress bar from them). */
    public interface Listener {
        default void onStart(int fromStep, int totalSteps) {}

        default void onStep(int step, double loss, float lr, long tokens, double tokensPerSecond) {}

        default void onEvaluation(Evaluation e) {}

        default void onCheckpoint(int step) {}
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ModelConfig config;
    private final SequenceSource data;
    private final TrainingSettings settings;
    private final Path out;
    private final int[] train, heldOut;
    /** Whether the split is the one {@link Split#of} makes, which the checkpoint fingerprint then need not spell out. */
    private final boolean defaultSplit;

    /**
     * Which sequences a run trains on and which it evaluates on (indices into its source).
     *
     * @param train   the training split, in the order the epoch permutations index it
     * @param heldOut the held-out split
     */
    public record Split(int[] train, int[] heldOut) {
        public Split {
            if (train.length < 1) throw new InputException("no training sequences");
            train = train.clone();
            heldOut = heldOut.clone();
        }

        /**
         * The split a run of {@code settings} makes of {@code size} sequences: a seeded permutation,
         * its first {@code heldOutFraction} held out (at least one when the fraction is positive).
         */
        public static Split of(int size, TrainingSettings settings) {
            if (size < 1) throw new InputException("no training sequences");
            int[] perm = permutation(size, settings.seed());
            int nHeld = settings.heldOutFraction() == 0 ? 0 : Math.max(1, (int) Math.round(size * settings.heldOutFraction()));
            if (nHeld >= size) throw new InputException("corpus has " + size + " sequences: too few to hold " + nHeld + " out for evaluation");
            return new Split(java.util.Arrays.copyOfRange(perm, nHeld, perm.length), java.util.Arrays.copyOfRange(perm, 0, nHeld));
        }

        /** The same held-out split with only {@code subset} (sequence indices, a part of the training split) trained on. */
        public Split restrictedTo(int[] subset) {
            java.util.BitSet inTrain = new java.util.BitSet();
            for (int i : train) inTrain.set(i);
            for (int i : subset)
                if (!inTrain.get(i)) throw new IllegalArgumentException("sequence " + i + " is not in the training split");
            return new Split(subset, heldOut);
        }

        /** The training split, ascending. */
        public int[] trainSorted() {
            int[] s = train.clone();
            java.util.Arrays.sort(s);
            return s;
        }
    }

    /** A run on the split {@link Split#of} makes of {@code data}. */
    public Trainer(ModelConfig config, SequenceSource data, TrainingSettings settings, Path out) {
        this(config, data, settings, out, Split.of(data.size(), settings), true);
    }

    /** A run on a given split of {@code data} (the retrainings of validation train on parts of a model's training split). */
    public Trainer(ModelConfig config, SequenceSource data, TrainingSettings settings, Path out, Split split) {
        this(config, data, settings, out, split, false);
    }

    private Trainer(ModelConfig config, SequenceSource data, TrainingSettings settings, Path out, Split split, boolean defaultSplit) {
        if (data.size() < 1) throw new InputException("no training sequences");
        for (int[] part : new int[][] {split.train(), split.heldOut()})
            for (int i : part)
                if (i < 0 || i >= data.size()) throw new IllegalArgumentException("sequence " + i + " outside the source of " + data.size());
        this.config = config;
        this.data = data;
        this.settings = settings;
        this.out = out;
        this.train = split.train();
        this.heldOut = split.heldOut();
        this.defaultSplit = defaultSplit;
    }

    /** Sequence indices of the held-out split (sorted by draw order). */
    public int[] heldOut() {
        return heldOut.clone();
    }

    /**
     * Refuses, before anything is written, a checkpoint in {@code out} that this training cannot
     * continue (other settings, model or data); {@link #run} would refuse it too, later.
     */
    public void requireResumable() {
        Path ckpt = out.resolve("checkpoint");
        recoverSwap(ckpt);
        if (Files.exists(ckpt.resolve("state.json"))) readState(ckpt);
    }

    /** Runs (or resumes) training and writes the final weights to {@code out/model.safetensors}. */
    public Result run(Listener listener) {
        Path ckpt = out.resolve("checkpoint");
        recoverSwap(ckpt);
        Parameters params;
        AdamW opt;
        int start = 0;
        double resumedLoss = Double.NaN;
        List<Evaluation> evals = new ArrayList<>();
        if (Files.exists(ckpt.resolve("state.json"))) {
            State s = readState(ckpt);
            params = Parameters.load(ckpt, config);
            opt = new AdamW(params.layout(), settings.optimizer());
            try (SafeTensors st = SafeTensors.open(ckpt.resolve("optimizer.safetensors"))) {
                for (ParameterLayout.Entry e : params.layout().entries()) {
                    System.arraycopy(st.floats("exp_avg." + e.name()), 0, opt.firstMoment().tensor(e), 0, e.size());
                    System.arraycopy(st.floats("exp_avg_sq." + e.name()), 0, opt.secondMoment().tensor(e), 0, e.size());
                }
            }
            opt.restore(s.step);
            start = s.step;
            resumedLoss = s.recentLoss;
            evals.addAll(s.evaluations);
        } else {
            params = Parameters.initialize(config, settings.seed());
            opt = new AdamW(params.layout(), settings.optimizer());
        }
        LanguageModel model = new Transformer(params, LayerSelection.MLP);
        Parameters grads = new Parameters(params.layout());
        listener.onStart(start, settings.steps());
        long tokens = 0, t0 = System.nanoTime();
        double recentLoss = resumedLoss;
        for (int step = start; step < settings.steps(); step++) {
            SequenceBatch batch = data.batch(batchIndices(step));
            Targets targets = Targets.nextTokens(batch);
            int count = 0;
            for (float w : targets.weights()) count += w != 0f ? 1 : 0;
            model.forward(batch);
            double loss = model.loss(targets) / Math.max(1, count);
            if (!Double.isFinite(loss)) throw new IllegalStateException("training diverged at step " + step + " (loss " + loss + ")");
            grads.zero();
            model.backward(targets, null, grads);
            scaleAndClip(grads.tensors(), 1f / Math.max(1, count), settings.clipNorm());
            float lr = settings.schedule().at(step);
            opt.update(params, grads, lr);
            tokens += batch.realTokens();
            recentLoss = Double.isNaN(recentLoss) ? loss : 0.9 * recentLoss + 0.1 * loss;
            double secs = (System.nanoTime() - t0) / 1e9;
            listener.onStep(step + 1, loss, lr, tokens, tokens / Math.max(secs, 1e-9));
            int done = step + 1;
            if (done % settings.evalEvery() == 0 || done == settings.steps()) {
                Evaluation e = new Evaluation(done, recentLoss, heldOutLoss(model));
                evals.add(e);
                listener.onEvaluation(e);
            }
            if (done % settings.checkpointEvery() == 0 || done == settings.steps()) {
                writeCheckpoint(ckpt, params, opt, done, recentLoss, evals);
                listener.onCheckpoint(done);
            }
        }
        HfConfig.write(config, out.resolve("config.json"));
        params.save(out, Map.of("imprint.steps", Integer.toString(settings.steps())));
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Result(settings.steps(), start, evals, tokens / Math.max(secs, 1e-9), tokens);
    }

    /** Mean NLL per predicted token on (up to {@code evalSequences} of) the held-out split; NaN without one. */
    public double heldOutLoss(LanguageModel model) {
        if (heldOut.length == 0) return Double.NaN;
        int n = Math.min(heldOut.length, settings.evalSequences());
        double sum = 0;
        long count = 0;
        for (int from = 0; from < n; from += settings.batchSize()) {
            int[] idx = java.util.Arrays.copyOfRange(heldOut, from, Math.min(n, from + settings.batchSize()));
            SequenceBatch batch = data.batch(idx);
            Targets t = Targets.nextTokens(batch);
            model.forward(batch);
            sum += model.loss(t);
            for (float w : t.weights()) count += w != 0f ? 1 : 0;
        }
        return sum / Math.max(1, count);
    }

    /** The batch of step s: epochs are seeded permutations of the training split, laid end to end. */
    int[] batchIndices(int step) {
        int B = settings.batchSize();
        int[] idx = new int[B];
        draws(train, settings.seed(), (long) step * B, B, (i, sequence) -> idx[i] = sequence);
        return idx;
    }

    /**
     * The sequences a run of {@code settings} on {@code split} draws over all its steps: the
     * training set the model actually saw (a run of fewer draws than its split sees only part of it).
     */
    public static java.util.BitSet drawn(Split split, TrainingSettings settings) {
        java.util.BitSet seen = new java.util.BitSet();
        long total = (long) settings.steps() * settings.batchSize();
        if (total >= split.train().length) for (int i : split.train()) seen.set(i); // a whole epoch draws every one
        else draws(split.train(), settings.seed(), 0, total, (i, sequence) -> seen.set(sequence));
        return seen;
    }

    /** Receives draw i of a range: the sequence drawn. */
    @FunctionalInterface
    private interface Draw {
        void at(int i, int sequence);
    }

    /** Hands draws [from, from + count) of the seeded epoch permutations of {@code train}, laid end to end, to {@code draw}. */
    private static void draws(int[] train, long seed, long from, long count, Draw draw) {
        int n = train.length;
        int[] perm = null;
        long epochOfPerm = -1;
        for (long i = 0; i < count; i++) {
            long pos = from + i, epoch = pos / n;
            if (epoch != epochOfPerm) {
                perm = permutation(n, seed * 31 + epoch + 1);
                epochOfPerm = epoch;
            }
            draw.at((int) i, train[perm[(int) (pos % n)]]);
        }
    }

    private static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** g ← scale·g, then rescaled to norm {@code clip} if its global L2 norm exceeds it. */
    public static void scaleAndClip(List<float[]> tensors, float scale, float clip) {
        double sq = 0;
        for (float[] g : tensors)
            for (float x : g) sq += (double) x * x;
        double norm = Math.sqrt(sq) * scale;
        float factor = scale;
        if (clip > 0 && norm > clip) factor = (float) (scale * clip / norm);
        for (float[] g : tensors)
            for (int i = 0; i < g.length; i++) g[i] *= factor;
    }

    /** What a checkpoint holds besides the tensors; {@code recentLoss} is the smoothed training loss the evaluations report. */
    private record State(int step, double recentLoss, List<Evaluation> evaluations) {}

    private String fingerprint() {
        String split = defaultSplit ? "" : "|" + java.util.Arrays.hashCode(train) + "|" + java.util.Arrays.hashCode(heldOut);
        return Integer.toHexString((config.toString() + "|" + settings + "|" + data.size() + split).hashCode());
    }

    private void writeCheckpoint(Path ckpt, Parameters params, AdamW opt, int step, double recentLoss, List<Evaluation> evals) {
        Path tmp = out.resolve("checkpoint.tmp"), old = out.resolve("checkpoint.old");
        try {
            AtomicFiles.deleteTree(tmp);
            Files.createDirectories(tmp);
            params.save(tmp, Map.of("imprint.step", Integer.toString(step)));
            Map<String, SafeTensors.Tensor> state = new LinkedHashMap<>();
            for (ParameterLayout.Entry e : params.layout().entries()) {
                state.put("exp_avg." + e.name(), SafeTensors.Tensor.f32(opt.firstMoment().tensor(e), e.size()));
                state.put("exp_avg_sq." + e.name(), SafeTensors.Tensor.f32(opt.secondMoment().tensor(e), e.size()));
            }
            SafeTensors.write(tmp.resolve("optimizer.safetensors"), state, Map.of("step", Long.toString(opt.step())));
            ObjectNode s = JSON.createObjectNode();
            s.put("step", step);
            s.put("fingerprint", fingerprint());
            s.put("recent_train_loss", recentLoss); // so that a resumed run reports the same training losses
            var arr = s.putArray("evaluations");
            for (Evaluation e : evals) arr.addObject().put("step", e.step()).put("train_loss", e.trainLoss()).put("held_out_loss", e.heldOutLoss());
            AtomicFiles.writeString(tmp.resolve("state.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s));
            // swap: checkpoint → checkpoint.old, checkpoint.tmp → checkpoint, drop old
            AtomicFiles.deleteTree(old);
            if (Files.exists(ckpt)) Files.move(ckpt, old);
            Files.move(tmp, ckpt);
            AtomicFiles.deleteTree(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint in " + out + ": " + e.getMessage(), e);
        }
    }

    /** A kill between the two renames of the swap leaves only checkpoint.old: put it back. */
    private void recoverSwap(Path ckpt) {
        Path old = out.resolve("checkpoint.old");
        try {
            if (!Files.exists(ckpt) && Files.exists(old.resolve("state.json"))) Files.move(old, ckpt);
            AtomicFiles.deleteTree(out.resolve("checkpoint.tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private State readState(Path ckpt) {
        try {
            var node = JSON.readTree(ckpt.resolve("state.json").toFile());
            String fp = node.path("fingerprint").asText();
            if (!fp.equals(fingerprint()))
                throw InputException.mismatch(ckpt + ": checkpoint was written with other training settings, model or data (fingerprint "
                        + fp + " ≠ " + fingerprint() + "); use another --out or delete the checkpoint");
            List<Evaluation> evals = new ArrayList<>();
            for (var e : node.path("evaluations"))
                evals.add(new Evaluation(e.get("step").asInt(), e.get("train_loss").asDouble(), e.get("held_out_loss").asDouble()));
            return new State(node.get("step").asInt(), node.path("recent_train_loss").asDouble(Double.NaN), evals);
        } catch (IOException e) {
            throw new InputException(ckpt + "/state.json: unreadable (" + e.getMessage() + ")", e);
        }
    }
}
