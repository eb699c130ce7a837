package dev.imprint.train;

import dev.imprint.model.ParameterLayout;
import dev.imprint.model.Parameters;
import dev.imprint.tensor.Parallel;

/**
 * AdamW (Loshchilov & Hutter) over one flat parameter block: decoupled weight decay on the weight
 * matrices only (biases, layer-norm gains and offsets are not decayed). The moments share the
 * parameters' layout.
 */
public final class AdamW {
    /** Hyper-parameters; validated here so a bad setting fails before any step. */
    public record Settings(float beta1, float beta2, float eps, float weightDecay) {
        public Settings {
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 " + beta1 + " outside [0, 1)");
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 " + beta2 + " outside [0, 1)");
            if (!(eps > 0)) throw new IllegalArgumentException("eps " + eps + " must be positive");
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay " + weightDecay + " must be non-negative");
        }

        public static Settings defaults() {
            return new Settings(0.9f, 0.95f, 1e-8f, 0.1f);
        }
    }

    private static final int BLOCK = 1 << 14;
    private final Settings settings;
    private final float[] m, v;       // first and second moments, parameter layout
    private final float[] decayMask;  // 1 where weight decay applies, 0 elsewhere
    private long step;

    public AdamW(ParameterLayout layout, Settings settings) {
        this.settings = settings;
        this.m = new float[layout.size()];
        this.v = new float[layout.size()];
        this.decayMask = new float[layout.size()];
        for (ParameterLayout.Entry e : layout.entries())
            if (!e.kind().vector()) java.util.Arrays.fill(decayMask, e.offset(), e.offset() + e.size(), 1f);
    }

    public long step() {
        return step;
    }

    public float[] firstMoment() {
        return m;
    }

    public float[] secondMoment() {
        return v;
    }

    /** Restores the state saved by a checkpoint. */
    public void restore(float[] m, float[] v, long step) {
        if (m.length != this.m.length || v.length != this.v.length) throw new IllegalArgumentException("optimizer state does not match the model");
        System.arraycopy(m, 0, this.m, 0, m.length);
        System.arraycopy(v, 0, this.v, 0, v.length);
        this.step = step;
    }

    /**
     * One update with learning rate {@code lr} from gradients {@code g} (already scaled and clipped):
     * m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², θ ← θ − lr (m̂/(√v̂ + ε) + wd·θ) with bias-corrected m̂, v̂.
     */
    public void update(Parameters params, Parameters grads, float lr) {
        step++;
        float b1 = settings.beta1(), b2 = settings.beta2(), eps = settings.eps(), wd = settings.weightDecay();
        float c1 = (float) (1 - Math.pow(b1, step)), c2 = (float) (1 - Math.pow(b2, step));
        float[] p = params.data(), g = grads.data();
        int n = p.length;
        Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
            int to = Math.min(n, (blk + 1) * BLOCK);
            for (int i = blk * BLOCK; i < to; i++) {
                float gi = g[i];
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                float mh = m[i] / c1, vh = v[i] / c2;
                p[i] -= lr * (mh / ((float) Math.sqrt(vh) + eps) + wd * decayMask[i] * p[i]);
            }
        });
    }
}
