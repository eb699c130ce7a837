package dev.imprint.model;

import dev.imprint.InputException;
import dev.imprint.io.SafeTensors;
import dev.imprint.tensor.Mat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * All of a model's parameters (or all of their gradients) in one float array laid out by
 * {@link ParameterLayout}; typed views by {@link ParameterKind} and layer.
 */
public final class Parameters {
    private final ParameterLayout layout;
    private final float[] data;

    public Parameters(ParameterLayout layout) {
        this(layout, new float[layout.size()]);
    }

    public Parameters(ParameterLayout layout, float[] data) {
        if (data.length != layout.size())
            throw new IllegalArgumentException("parameter array has " + data.length + " floats, layout needs " + layout.size());
        this.layout = layout;
        this.data = data;
    }

    public ParameterLayout layout() {
        return layout;
    }

    /** The flat array (storage order of the layout). */
    public float[] data() {
        return data;
    }

    public int offset(ParameterKind kind, int layer) {
        return layout.offset(kind, layer);
    }

    /** A matrix view of one tensor: (rows, cols) from {@link ParameterKind#shape}. */
    public Mat mat(ParameterKind kind, int layer) {
        int[] s = kind.shape(layout.config());
        return Mat.of(data, offset(kind, layer), s[0], s[1]);
    }

    public void zero() {
        Arrays.fill(data, 0f);
    }

    /**
     * GPT-2's initialization, seeded: weights N(0, 0.02²), the two residual projections of each
     * block scaled by 1/√(2L), biases 0, layer-norm gains 1.
     */
    public static Parameters initialize(GPT2Config config, long seed) {
        Parameters p = new Parameters(new ParameterLayout(config));
        Random rng = new Random(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * config.nLayer());
        for (ParameterLayout.Entry e : p.layout.entries()) {
            switch (e.kind()) {
                case LN1_W, LN2_W, LNF_W -> Arrays.fill(p.data, e.offset(), e.offset() + e.size(), 1f);
                case WTE, WPE, QKV_W, FC_W -> gaussian(p.data, e, rng, 0.02);
                case ATTN_PROJ_W, FC_PROJ_W -> gaussian(p.data, e, rng, residualStd);
                default -> { /* biases stay 0 */ }
            }
        }
        return p;
    }

    private static void gaussian(float[] data, ParameterLayout.Entry e, Random rng, double std) {
        for (int i = e.offset(); i < e.offset() + e.size(); i++) data[i] = (float) (rng.nextGaussian() * std);
    }

    /**
     * Reads Hugging Face GPT-2 weights from {@code model.safetensors}. Accepts names with or without
     * the {@code transformer.} prefix; ignores the attention-mask buffers and a tied {@code lm_head}.
     */
    public static Parameters load(Path file, GPT2Config config) {
        Parameters p = new Parameters(new ParameterLayout(config));
        try (SafeTensors st = SafeTensors.open(file)) {
            String prefix = st.contains("transformer.wte.weight") ? "transformer." : "";
            for (ParameterLayout.Entry e : p.layout.entries()) {
                String name = prefix + e.name();
                long[] expected = e.kind().vector() ? new long[] {e.cols()} : new long[] {e.rows(), e.cols()};
                st.requireShape(name, expected);
                float[] v = st.floats(name);
                for (float x : v)
                    if (!Float.isFinite(x)) throw new InputException(file + ": tensor '" + name + "' contains NaN or infinity");
                System.arraycopy(v, 0, p.data, e.offset(), v.length);
            }
            if (st.contains("lm_head.weight")) {
                float[] head = st.floats("lm_head.weight");
                int wte = p.offset(ParameterKind.WTE, 0);
                if (!Arrays.equals(head, 0, head.length, p.data, wte, wte + head.length))
                    throw new InputException(file + ": lm_head.weight differs from wte.weight (untied unembedding is not supported)");
            }
        }
        return p;
    }

    /** Writes the weights in Hugging Face GPT-2 naming (no prefix, Conv1D layout), atomically. */
    public void save(Path file, Map<String, String> metadata) {
        Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
        for (ParameterLayout.Entry e : layout.entries()) {
            float[] v = Arrays.copyOfRange(data, e.offset(), e.offset() + e.size());
            tensors.put(e.name(), e.kind().vector() ? SafeTensors.Tensor.f32(v, e.cols()) : SafeTensors.Tensor.f32(v, e.rows(), e.cols()));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) meta.putAll(metadata);
        SafeTensors.write(file, tensors, meta);
    }
}
