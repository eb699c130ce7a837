package dev.imprint.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Where every parameter tensor lives in the one flat array that holds them all (and in the one
 * that holds their gradients: same layout). Generated from {@link ParameterKind}, in Hugging Face
 * order: wte, wpe, h.0.*, …, h.{L−1}.*, ln_f.*.
 */
public final class ParameterLayout {
    /** One tensor: its kind, layer (−1 for global tensors), name, shape and offset. */
    public record Entry(ParameterKind kind, int layer, String name, int rows, int cols, int offset) {
        public int size() {
            return rows * cols;
        }
    }

    private final GPT2Config config;
    private final List<Entry> entries;
    private final int[][] offsets; // [kind][layer or 0]
    private final int size;

    public ParameterLayout(GPT2Config config) {
        this.config = config;
        List<Entry> list = new ArrayList<>();
        offsets = new int[ParameterKind.values().length][Math.max(1, config.nLayer())];
        long off = 0;
        for (ParameterKind k : ParameterKind.values()) {
            if (k.perLayer()) continue;
            if (k == ParameterKind.LNF_W) break;
            off = add(list, k, -1, off);
        }
        for (int l = 0; l < config.nLayer(); l++)
            for (ParameterKind k : ParameterKind.values()) if (k.perLayer()) off = add(list, k, l, off);
        off = add(list, ParameterKind.LNF_W, -1, off);
        off = add(list, ParameterKind.LNF_B, -1, off);
        if (off > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("model has " + off + " parameters, more than one Java array holds");
        this.entries = Collections.unmodifiableList(list);
        this.size = (int) off;
    }

    private long add(List<Entry> list, ParameterKind k, int layer, long off) {
        int[] s = k.shape(config);
        list.add(new Entry(k, layer, k.hfName(layer), s[0], s[1], (int) off));
        offsets[k.ordinal()][Math.max(layer, 0)] = (int) off;
        return off + (long) s[0] * s[1];
    }

    public GPT2Config config() {
        return config;
    }

    /** All tensors in storage order. */
    public List<Entry> entries() {
        return entries;
    }

    /** Total number of parameters. */
    public int size() {
        return size;
    }

    /** Offset of tensor {@code kind} of {@code layer} (ignored for global tensors). */
    public int offset(ParameterKind kind, int layer) {
        return offsets[kind.ordinal()][kind.perLayer() ? layer : 0];
    }
}
