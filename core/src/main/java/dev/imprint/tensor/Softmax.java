package dev.imprint.tensor;

import java.util.SplittableRandom;

/**
 * The output softmax and the cross-entropy loss over a vocabulary.
 * Dimensions: N rows (positions), V vocabulary. lse[r] = log Σ_v exp(logits[r, v]).
 */
public final class Softmax {
    private Softmax() {}

    /** lse (N) ← log-sum-exp of each row of logits (N,V); logits are left unchanged. */
    public static void logSumExp(float[] lse, float[] logits, int rows, int V) {
        Parallel.forEach(rows, r -> {
            int o = r * V;
            float max = Vec.max(logits, o, V);
            lse[r] = (float) (max + Math.log(Vec.expSum(logits, o, V, max)));
        });
    }

    /**
     * In place: logits (N,V) ← dL/dlogits for L = −Σ_r w_r log softmax(logits_r)[target_r]
     * = w_r (softmax(logits_r) − onehot(target_r)). Rows with weight 0 become zero.
     */
    public static void crossEntropyBackward(float[] logits, float[] lse, int[] targets, float[] weights, int rows, int V) {
        Parallel.forEach(rows, r -> {
            int o = r * V;
            float w = weights[r];
            if (w == 0f) {
                java.util.Arrays.fill(logits, o, o + V, 0f);
                return;
            }
            Vec.expShiftSum(logits, o, V, lse[r]);
            Vec.scale(w, logits, o, V);
            logits[o + targets[r]] -= w;
        });
    }

    /**
     * Draws one label per row from softmax(logits_r), for rows with {@code draw[r]}; each row uses
     * its own generator seeded by {@code rowSeeds[r]}, so the draw does not depend on thread count. The
     * inverse CDF is searched block by block: a vectorized Σ exp over each block of the vocabulary
     * until the running sum passes u, then a scalar walk inside that block.
     */
    public static void sample(int[] out, float[] logits, float[] lse, boolean[] draw, long[] rowSeeds, int rows, int V) {
        final int block = 256;
        Parallel.forEach(rows, r -> {
            if (!draw[r]) return;
            double u = new SplittableRandom(rowSeeds[r]).nextDouble();
            int o = r * V;
            float shift = lse[r];
            double c = 0;
            int pick = V - 1;
            for (int b0 = 0; b0 < V; b0 += block) {
                int n = Math.min(block, V - b0);
                double blockSum = Vec.expSum(logits, o + b0, n, shift);
                if (c + blockSum <= u) {
                    c += blockSum;
                    continue;
                }
                for (int v = b0; v < b0 + n; v++) {
                    c += Vec.exp(logits[o + v] - shift);
                    if (c > u) {
                        pick = v;
                        break;
                    }
                }
                // rounding can leave c ≤ u at the block's end; the block's last token is then drawn
                pick = Math.min(pick, b0 + n - 1);
                break;
            }
            out[r] = pick;
        });
    }
}
