package dev.imprint.tensor;

import java.util.Arrays;

/**
 * Causal self-attention, forward and backward, with grouped-query heads (H query heads share KV
 * key/value heads, KV dividing H) on one projection buffer that holds every token's q, k and v.
 * Dimensions: B batch, T tokens, H heads, KV key/value heads, D head size, W = (H + 2·KV)·D.
 * qkv (B,T,W): where each head's q, k and v sit in a row is the {@link Layout}.
 * att (B,H,T,T) holds the softmax probabilities (row i: query position i; zero for j &gt; i).
 * The forward splits work over the B·H (sequence, head) pairs, the backward over the B·KV
 * (sequence, key/value head) pairs, so that a group's key and value gradients are summed by one
 * task in head order; the GEMMs inside run serially per pair.
 */
public final class Attention {
    private Attention() {}

    /**
     * Where head h's query and group g's key and value start in a row of the projection buffer.
     * Blocked: all queries, then all keys, then all values (GPT-2's c_attn; Llama's q, k, v
     * projections written side by side). Interleaved: per head its q, k, v in turn (GPT-NeoX's
     * query_key_value; needs KV = H).
     */
    public record Layout(int heads, int kvHeads, int headDim, boolean interleaved) {
        public Layout {
            if (heads <= 0 || kvHeads <= 0 || headDim <= 0 || heads % kvHeads != 0)
                throw new IllegalArgumentException("attention layout with " + heads + " heads, " + kvHeads + " key/value heads, head size " + headDim);
            if (interleaved && kvHeads != heads) throw new IllegalArgumentException("an interleaved q/k/v layout needs as many key/value heads as heads");
        }

        /** W: the row width of the projection buffer. */
        public int width() {
            return (heads + 2 * kvHeads) * headDim;
        }

        public int query(int h) {
            return interleaved ? 3 * h * headDim : h * headDim;
        }

        public int key(int g) {
            return interleaved ? (3 * g + 1) * headDim : (heads + g) * headDim;
        }

        public int value(int g) {
            return interleaved ? (3 * g + 2) * headDim : (heads + kvHeads + g) * headDim;
        }

        /** The key/value head that query head h reads. */
        public int group(int h) {
            return h / (heads / kvHeads);
        }
    }

    /** out (B,T,H·D) ← softmax(q kᵀ/√D + causal mask) v per head; att (B,H,T,T) keeps the probabilities. */
    public static void forward(float[] out, float[] att, float[] qkv, Layout layout, int B, int T) {
        int H = layout.heads(), D = layout.headDim(), W = layout.width(), HD = H * D;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forEach(B * H, bh -> {
            int b = bh / H, h = bh % H, g = layout.group(h), row0 = b * T * W;
            Mat q = new Mat(qkv, row0 + layout.query(h), T, D, W);
            Mat k = new Mat(qkv, row0 + layout.key(g), T, D, W);
            Mat v = new Mat(qkv, row0 + layout.value(g), T, D, W);
            Mat p = Mat.of(att, bh * T * T, T, T);
            Gemm.mulTransB(p, q, k, false);
            for (int i = 0; i < T; i++) {
                int row = bh * T * T + i * T;
                // causal: query i sees keys 0..i; exp(−inf) would be exact 0 too, but skipping is cheaper
                Vec.scale(scale, att, row, i + 1);
                float max = Vec.max(att, row, i + 1);
                float sum = (float) Vec.expShiftSum(att, row, i + 1, max);
                Vec.scale(1f / sum, att, row, i + 1);
                Arrays.fill(att, row + i + 1, row + T, 0f);
            }
            Gemm.mul(new Mat(out, b * T * HD + h * D, T, D, HD), p, v, false);
        });
    }

    /**
     * dqkv (B,T,W) ← gradient of the attention given dout (B,T,H·D); datt (B,H,T,T) is scratch.
     * In forward: P = softmax(S), S = q kᵀ·scale, out = P v. So dP = dout vᵀ, dv = Σ_heads Pᵀ dout,
     * dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik), dq = dS k·scale, dk = Σ_heads dSᵀ q·scale, the sums over
     * the query heads of the key/value head's group. dqkv is overwritten.
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, Layout layout, int B, int T) {
        int H = layout.heads(), KV = layout.kvHeads(), D = layout.headDim(), W = layout.width(), HD = H * D, perGroup = H / KV;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forEach(B * KV, bg -> {
            int b = bg / KV, g = bg % KV, row0 = b * T * W;
            Mat k = new Mat(qkv, row0 + layout.key(g), T, D, W), v = new Mat(qkv, row0 + layout.value(g), T, D, W);
            Mat dk = new Mat(dqkv, row0 + layout.key(g), T, D, W), dv = new Mat(dqkv, row0 + layout.value(g), T, D, W);
            for (int j = 0; j < perGroup; j++) {
                int h = g * perGroup + j, bh = b * H + h;
                Mat q = new Mat(qkv, row0 + layout.query(h), T, D, W), dq = new Mat(dqkv, row0 + layout.query(h), T, D, W);
                Mat p = Mat.of(att, bh * T * T, T, T), dp = Mat.of(datt, bh * T * T, T, T);
                Mat dO = new Mat(dout, b * T * HD + h * D, T, D, HD);
                Gemm.mulTransB(dp, dO, v, false);
                Gemm.mulTransA(dv, p, dO, j > 0);
                for (int i = 0; i < T; i++) {
                    int row = bh * T * T + i * T;
                    float s = Vec.dot(att, row, datt, row, i + 1);
                    for (int c = 0; c <= i; c++) datt[row + c] = att[row + c] * (datt[row + c] - s) * scale;
                    Arrays.fill(datt, row + i + 1, row + T, 0f);
                }
                Gemm.mul(dq, dp, k, false);
                Gemm.mulTransA(dk, dp, q, j > 0);
            }
        });
    }
}
