package dev.imprint.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static dev.imprint.model.ParameterRole.*;

/**
 * Every parameter tensor of a {@link ModelConfig}: its role, block, Hugging Face name and shape, in
 * Hugging Face order (embeddings, block 0 … block L−1, final norm, head). Generated from the
 * configuration in one place; {@link Parameters} holds one array per entry (and the gradients the
 * same layout), so no offset is ever larger than one tensor.
 */
public final class ParameterLayout {
    /**
     * One tensor. {@code rows} is 1 for vectors.
     *
     * @param index position in {@link #entries()}
     * @param layer block index, −1 for tensors outside the blocks
     */
    public record Entry(int index, ParameterRole role, int layer, String name, int rows, int cols) {
        public int size() {
            return rows * cols;
        }
    }

    private final ModelConfig config;
    private final List<Entry> entries;
    private final int[][] index; // [role][layer or 0] → entry index, −1 where the model has no such tensor
    private final long parameterCount;

    ParameterLayout(ModelConfig c) {
        this.config = c;
        int L = c.layers(), C = c.hidden(), V = c.vocabSize(), F = c.mlp().width();
        int Q = c.attention().queryWidth(), K = c.attention().kvWidth();
        index = new int[ParameterRole.values().length][Math.max(1, L)];
        for (int[] row : index) java.util.Arrays.fill(row, -1);
        List<Entry> list = new ArrayList<>();
        add(list, TOKEN_EMBEDDING, -1, V, C);
        if (c.positions() instanceof ModelConfig.Positions.Learned) add(list, POSITION_EMBEDDING, -1, c.contextLength(), C);
        boolean normBias = c.norm().bias(), qkvBias = c.attention().qkvBias(), mlpBias = c.mlp().bias();
        for (int l = 0; l < L; l++) {
            vector(list, NORM1_W, l, C);
            if (normBias) vector(list, NORM1_B, l, C);
            if (c.attention().fusion() == ModelConfig.QkvFusion.SEPARATE) {
                add(list, Q_W, l, Q, C);
                if (qkvBias) vector(list, Q_B, l, Q);
                add(list, K_W, l, K, C);
                if (qkvBias) vector(list, K_B, l, K);
                add(list, V_W, l, K, C);
                if (qkvBias) vector(list, V_B, l, K);
            } else {
                add(list, QKV_W, l, Q + 2 * K, C);
                if (qkvBias) vector(list, QKV_B, l, Q + 2 * K);
            }
            add(list, O_W, l, C, Q);
            if (c.attention().outBias()) vector(list, O_B, l, C);
            vector(list, NORM2_W, l, C);
            if (normBias) vector(list, NORM2_B, l, C);
            if (c.mlp().kind() == ModelConfig.MlpSpec.Kind.SWIGLU) {
                add(list, GATE_W, l, F, C);
                if (mlpBias) vector(list, GATE_B, l, F);
            }
            add(list, UP_W, l, F, C);
            if (mlpBias) vector(list, UP_B, l, F);
            add(list, DOWN_W, l, C, F);
            if (mlpBias) vector(list, DOWN_B, l, C);
        }
        vector(list, FINAL_NORM_W, -1, C);
        if (normBias) vector(list, FINAL_NORM_B, -1, C);
        if (!c.tiedHead()) add(list, LM_HEAD, -1, V, C);
        this.entries = Collections.unmodifiableList(list);
        long n = 0;
        for (Entry e : list) n += (long) e.rows() * e.cols();
        this.parameterCount = n;
    }

    private void vector(List<Entry> list, ParameterRole role, int layer, int n) {
        add(list, role, layer, 1, n);
    }

    private void add(List<Entry> list, ParameterRole role, int layer, int rows, int cols) {
        if ((long) rows * cols > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("tensor " + config.family().tensorName(role, layer) + " has " + (long) rows * cols
                    + " elements, more than one Java array holds");
        Entry e = new Entry(list.size(), role, layer, config.family().tensorName(role, layer), rows, cols);
        index[role.ordinal()][Math.max(layer, 0)] = e.index();
        list.add(e);
    }

    public ModelConfig config() {
        return config;
    }

    /** All tensors in Hugging Face order. */
    public List<Entry> entries() {
        return entries;
    }

    /** Whether the model has a tensor of this role (in this block). */
    public boolean has(ParameterRole role, int layer) {
        return index[role.ordinal()][role.perLayer() ? layer : 0] >= 0;
    }

    /** The tensor of a role (layer is ignored for tensors outside the blocks). */
    public Entry entry(ParameterRole role, int layer) {
        int i = index[role.ordinal()][role.perLayer() ? layer : 0];
        if (i < 0) throw new IllegalArgumentException("this " + config.family().modelType() + " model has no " + role + (role.perLayer() ? " in block " + layer : ""));
        return entries.get(i);
    }

    /** Total number of parameters: a long, since a 7B-parameter model has more than 2³¹. */
    public long parameterCount() {
        return parameterCount;
    }
}
