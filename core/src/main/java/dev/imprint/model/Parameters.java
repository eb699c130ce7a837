package dev.imprint.model;

import dev.imprint.InputException;
import dev.imprint.io.CheckpointFiles;
import dev.imprint.io.SafeTensors;
import dev.imprint.tensor.Mat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A model's parameters (or their gradients: the same layout), one float array per tensor of its
 * {@link ParameterLayout}, so a model may hold more than 2³¹ parameters. Linear weights are held
 * (out, in) as torch.nn.Linear does ({@link ParameterRole}).
 */
public final class Parameters {
    /** Largest single safetensors file {@link #save} writes before it shards, as Hugging Face's default. */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;
    private final ParameterLayout layout;
    private final float[][] tensors; // [entry index] (rows·cols)

    public Parameters(ParameterLayout layout) {
        this.layout = layout;
        this.tensors = new float[layout.entries().size()][];
        for (ParameterLayout.Entry e : layout.entries()) tensors[e.index()] = new float[e.size()];
    }

    public ParameterLayout layout() {
        return layout;
    }

    public ModelConfig config() {
        return layout.config();
    }

    /** The array of one tensor. */
    public float[] tensor(ParameterLayout.Entry e) {
        return tensors[e.index()];
    }

    /** The array of one tensor, by role (and block). */
    public float[] tensor(ParameterRole role, int layer) {
        return tensors[layout.entry(role, layer).index()];
    }

    /** A matrix view (rows, cols) of one tensor; vectors are (1, n). */
    public Mat mat(ParameterRole role, int layer) {
        ParameterLayout.Entry e = layout.entry(role, layer);
        return Mat.of(tensors[e.index()], e.rows(), e.cols());
    }

    /** Every tensor's array, in layout order. */
    public java.util.List<float[]> tensors() {
        return java.util.Arrays.asList(tensors);
    }

    public void zero() {
        for (float[] t : tensors) Arrays.fill(t, 0f);
    }

    /**
     * GPT-2's initialization for every family, seeded: weights N(0, 0.02²), the two residual
     * projections of each block (attention output, MLP down) scaled by 1/√(2L), biases 0, norm
     * gains 1. Values are drawn in each tensor's checkpoint storage order, so a GPT-2 draws what
     * it drew when it was held in Conv1D layout.
     */
    public static Parameters initialize(ModelConfig config, long seed) {
        Parameters p = new Parameters(config.layout());
        Random rng = new Random(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * config.layers());
        for (ParameterLayout.Entry e : p.layout.entries()) {
            float[] t = p.tensors[e.index()];
            switch (e.role()) {
                case NORM1_W, NORM2_W, FINAL_NORM_W -> Arrays.fill(t, 1f);
                case O_W, DOWN_W -> p.gaussian(e, rng, residualStd);
                default -> { if (!e.role().vector()) p.gaussian(e, rng, 0.02); }
            }
        }
        return p;
    }

    private void gaussian(ParameterLayout.Entry e, Random rng, double std) {
        float[] stored = new float[e.size()];
        for (int i = 0; i < stored.length; i++) stored[i] = (float) (rng.nextGaussian() * std);
        fromStored(e, stored);
    }

    /** The tensor as its checkpoint stores it (GPT-2's Conv1D weights transposed to (in, out)). */
    private float[] stored(ParameterLayout.Entry e) {
        float[] t = tensors[e.index()];
        return transposed(e) ? transpose(t, e.rows(), e.cols()) : t.clone();
    }

    private void fromStored(ParameterLayout.Entry e, float[] stored) {
        float[] t = tensors[e.index()];
        if (transposed(e)) System.arraycopy(transpose(stored, e.cols(), e.rows()), 0, t, 0, t.length);
        else System.arraycopy(stored, 0, t, 0, t.length);
    }

    private boolean transposed(ParameterLayout.Entry e) {
        return layout.config().family().storesTransposed(e.role());
    }

    /** (rows, cols) → (cols, rows). */
    private static float[] transpose(float[] x, int rows, int cols) {
        float[] out = new float[x.length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
        return out;
    }

    /**
     * Reads a model's weights (F32, F16 or BF16, one file or shards) in its family's Hugging Face
     * names. Every tensor of the layout must be there with its shape and finite values; a tensor the
     * layout does not have is an error (it would mean a different model), except the buffers some
     * checkpoints carry and a {@code lm_head.weight} equal to a tied embedding. GPT-2 names are
     * accepted with or without the {@code transformer.} prefix.
     */
    public static Parameters load(Path modelDir, ModelConfig config) {
        try (CheckpointFiles files = CheckpointFiles.open(modelDir)) {
            return load(files, config);
        }
    }

    /** As {@link #load(Path, ModelConfig)}, from weight files already open. */
    public static Parameters load(CheckpointFiles files, ModelConfig config) {
        List<String> stored = requireMatch(files, config);
        Parameters p = new Parameters(config.layout());
        String where = where(files);
        for (ParameterLayout.Entry e : p.layout.entries()) {
            String name = stored.get(e.index());
            float[] v = files.floats(name);
            for (float x : v)
                if (!Float.isFinite(x)) throw new InputException(where + ": tensor '" + name + "' contains NaN or infinity");
            p.fromStored(e, v);
        }
        if (config.tiedHead()) {
            for (String name : List.of("lm_head.weight", "embed_out.weight")) {
                if (!files.contains(name)) continue;
                if (!Arrays.equals(files.floats(name), p.tensor(ParameterRole.TOKEN_EMBEDDING, -1)))
                    throw new InputException(where + ": " + name + " differs from the token embedding, but the config ties them (tie_word_embeddings)");
            }
        }
        return p;
    }

    /**
     * Checks, from the files' headers alone (nothing is read into memory), that the weights are
     * exactly the model the config describes: every tensor of its layout present with its shape and
     * no other tensor, except a family's known buffers and a tied head's copy. Returns, per layout
     * entry, the tensor's name in the files (GPT-2 names may lack the {@code transformer.} prefix).
     */
    public static List<String> requireMatch(CheckpointFiles files, ModelConfig config) {
        ParameterLayout layout = config.layout();
        Family family = config.family();
        String where = where(files);
        List<String> stored = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (ParameterLayout.Entry e : layout.entries()) {
            String name = e.name();
            if (!files.contains(name) && family == Family.GPT2 && name.startsWith("transformer.") && files.contains(name.substring(12)))
                name = name.substring(12);
            if (!files.contains(name)) throw new InputException(where + ": missing tensor '" + e.name() + "' (the config describes a different model)");
            boolean t = family.storesTransposed(e.role());
            files.requireShape(name, e.role().vector() ? new long[] {e.cols()} : t ? new long[] {e.cols(), e.rows()} : new long[] {e.rows(), e.cols()});
            stored.add(name);
            used.add(name);
        }
        for (String name : files.names()) {
            if (used.contains(name) || family.isBuffer(name)) continue;
            if (config.tiedHead() && (name.equals("lm_head.weight") || name.equals("embed_out.weight"))) continue; // compared on load
            throw new InputException(where + ": tensor '" + name + "' is not part of a " + family.modelType() + " model with this config");
        }
        return stored;
    }

    private static String where(CheckpointFiles files) {
        return files.files().size() == 1 ? files.files().getFirst().toString() : files.files().getFirst().getParent() + " (sharded weights)";
    }

    /** Writes the weights in the family's Hugging Face names and layout (F32), atomically; shards past {@link #MAX_SHARD_BYTES}. */
    public void save(Path modelDir, Map<String, String> metadata) {
        Map<String, SafeTensors.Tensor> out = new LinkedHashMap<>();
        for (ParameterLayout.Entry e : layout.entries()) {
            float[] v = stored(e);
            out.put(e.name(), e.role().vector() ? SafeTensors.Tensor.f32(v, e.cols())
                    : transposed(e) ? SafeTensors.Tensor.f32(v, e.cols(), e.rows()) : SafeTensors.Tensor.f32(v, e.rows(), e.cols()));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) meta.putAll(metadata);
        CheckpointFiles.write(modelDir, out, meta, MAX_SHARD_BYTES);
    }
}
