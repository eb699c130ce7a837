package dev.imprint.train;

import dev.imprint.model.ParameterLayout;
import dev.imprint.model.Parameters;
import dev.imprint.tensor.Parallel;

/**
 * AdamW (Loshchilov & Hutter) over a model's parameter tensors: decoupled weight decay on the weight
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
    private final Parameters m, v;   // first and second moments, the parameters' layout
    private long step;

    public AdamW(ParameterLayout layout, Settings settings) {
        this.settings = settings;
        this.m = new Parameters(layout);
        this.v = new Parameters(layout);
    }

    public long step() {
        return step;
    }

    public Parameters firstMoment() {
        return m;
    }

    public Parameters secondMoment() {
        return v;
    }

    /** Restores the state saved by a checkpoint: the moments are read into {@link #firstMoment()} and {@link #secondMoment()} by the caller. */
    public void restore(long step) {
        this.step = step;
    }

    /**
     * One update with learning rate {@code lr} from gradients {@code g} (already scaled and clipped):
     * m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², θ ← θ − lr (m̂/(√v̂ + ε) + wd·θ) with bias-corrected m̂, v̂;
     * weight decay only on matrices.
     */
    public void update(Parameters params, Parameters grads, float lr) {
        step++;
        float b1 = settings.beta1(), b2 = settings.beta2(), eps = settings.eps();
        float c1 = (float) (1 - Math.pow(b1, step)), c2 = (float) (1 - Math.pow(b2, step));
        for (ParameterLayout.Entry e : params.layout().entries()) {
            float[] p = params.tensor(e), g = grads.tensor(e), mt = m.tensor(e), vt = v.tensor(e);
            float wd = e.role().vector() ? 0f : settings.weightDecay();
            int n = p.length;
            Parallel.forEach((n + BLOCK - 1) / BLOCK, blk -> {
                int to = Math.min(n, (blk + 1) * BLOCK);
                for (int i = blk * BLOCK; i < to; i++) {
                    float gi = g[i];
                    mt[i] = b1 * mt[i] + (1 - b1) * gi;
                    vt[i] = b2 * vt[i] + (1 - b2) * gi * gi;
                    float mh = mt[i] / c1, vh = vt[i] / c2;
                    p[i] -= lr * (mh / ((float) Math.sqrt(vh) + eps) + wd * p[i]);
                }
            });
        }
    }
}
