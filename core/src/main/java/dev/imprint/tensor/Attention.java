package dev.imprint.tensor;

/**
 * Causal multi-head self-attention on a fused qkv buffer, forward and backward.
 * Dimensions: B batch, T tokens, C channels, H heads, D = C/H head size.
 * qkv (B,T,3C) holds q | k | v per token, head h in columns [h·D, (h+1)·D) of each third.
 * att (B,H,T,T) holds the softmax probabilities (row i: query position i; zero for j > i).
 * Work is split over the B·H (sequence, head) pairs; the GEMMs inside run serially per pair.
 */
public final class Attention {
    private Attention() {}

    /** out (B,T,C) ← softmax(q kᵀ/√D + causal mask) v per head; att (B,H,T,T) keeps the probabilities. */
    public static void forward(float[] out, float[] att, float[] qkv, int B, int T, int C, int H) {
        int D = C / H;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forEach(B * H, bh -> {
            int b = bh / H, h = bh % H;
            Mat q = new Mat(qkv, b * T * 3 * C + h * D, T, D, 3 * C);
            Mat k = new Mat(qkv, b * T * 3 * C + C + h * D, T, D, 3 * C);
            Mat v = new Mat(qkv, b * T * 3 * C + 2 * C + h * D, T, D, 3 * C);
            Mat p = Mat.of(att, bh * T * T, T, T);
            Gemm.mulTransB(p, q, k, false);
            for (int i = 0; i < T; i++) {
                int row = bh * T * T + i * T;
                // causal: query i sees keys 0..i; exp(−inf) would be exact 0 too, but skipping is cheaper
                Vec.scale(scale, att, row, i + 1);
                float max = Vec.max(att, row, i + 1);
                float sum = (float) Vec.expShiftSum(att, row, i + 1, max);
                Vec.scale(1f / sum, att, row, i + 1);
                java.util.Arrays.fill(att, row + i + 1, row + T, 0f);
            }
            Gemm.mul(new Mat(out, b * T * C + h * D, T, D, C), p, v, false);
        });
    }

    /**
     * dqkv (B,T,3C) ← gradient of the attention given dout (B,T,C); datt (B,H,T,T) is scratch.
     * In forward: P = softmax(S), S = q kᵀ·scale, out = P v. So dP = dout vᵀ, dv = Pᵀ dout,
     * dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik), dq = dS k·scale, dk = dSᵀ q·scale. dqkv is overwritten.
     */
    public static void backward(float[] dqkv, float[] datt, float[] dout, float[] qkv, float[] att, int B, int T, int C, int H) {
        int D = C / H;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forEach(B * H, bh -> {
            int b = bh / H, h = bh % H, base = b * T * 3 * C + h * D;
            Mat q = new Mat(qkv, base, T, D, 3 * C), k = new Mat(qkv, base + C, T, D, 3 * C), v = new Mat(qkv, base + 2 * C, T, D, 3 * C);
            Mat dq = new Mat(dqkv, base, T, D, 3 * C), dk = new Mat(dqkv, base + C, T, D, 3 * C), dv = new Mat(dqkv, base + 2 * C, T, D, 3 * C);
            Mat p = Mat.of(att, bh * T * T, T, T), dp = Mat.of(datt, bh * T * T, T, T);
            Mat dO = new Mat(dout, b * T * C + h * D, T, D, C);
            Gemm.mulTransB(dp, dO, v, false);
            Gemm.mulTransA(dv, p, dO, false);
            for (int i = 0; i < T; i++) {
                int row = bh * T * T + i * T;
                float s = Vec.dot(att, row, datt, row, i + 1);
                for (int j = 0; j <= i; j++) datt[row + j] = att[row + j] * (datt[row + j] - s) * scale;
                java.util.Arrays.fill(datt, row + i + 1, row + T, 0f);
            }
            Gemm.mul(dq, dp, k, false);
            Gemm.mulTransA(dk, dp, q, false);
        });
    }
}
