package dev.imprint.model;

import dev.imprint.tensor.HeapArrays;

/**
 * What the forward keeps for the backward (and the backward's scratch), allocated once per
 * capacity and reused across calls. Dimensions as in {@link Transformer}; shapes in comments.
 */
final class Activations {
    /** One block's saved tensors. */
    static final class Block {
        final float[] norm1, norm1Mean, norm1Rstd; // (BT, C), (BT), (BT); the mean is unused by RMSNorm
        final float[] qkv;                         // (BT, W) projections; q and k rotated when positions are rotary
        final float[] att;                         // (B, H, T, T) softmax probabilities
        final float[] atty;                        // (BT, Q) attention output before the output projection
        final float[] res2;                        // (BT, C) residual after attention (sequential residual only)
        final float[] norm2, norm2Mean, norm2Rstd; // (BT, C), (BT), (BT)
        final float[] gate;                        // (BT, F) SwiGLU gate projection (SwiGLU only)
        final float[] up;                          // (BT, F) c_fc / up projection, before the nonlinearity
        final float[] hidden;                      // (BT, F) gelu(up) or silu(gate) ∘ up
        final float[] out;                         // (BT, C) block output

        Block(ModelConfig c, int BT, int attSize) {
            int C = c.hidden(), F = c.mlp().width();
            norm1 = new float[BT * C]; norm1Mean = new float[BT]; norm1Rstd = new float[BT];
            qkv = new float[Math.multiplyExact(BT, c.attention().layout().width())];
            att = new float[attSize];
            atty = new float[Math.multiplyExact(BT, c.attention().queryWidth())];
            res2 = c.parallelResidual() ? null : new float[BT * C];
            norm2 = new float[BT * C]; norm2Mean = new float[BT]; norm2Rstd = new float[BT];
            gate = c.mlp().kind() == ModelConfig.MlpSpec.Kind.SWIGLU ? new float[Math.multiplyExact(BT, F)] : null;
            up = new float[Math.multiplyExact(BT, F)];
            hidden = new float[Math.multiplyExact(BT, F)];
            out = new float[BT * C];
        }
    }

    /** Backward buffers, shared by all blocks. */
    static final class Scratch {
        final float[] dres;    // (BT, C) gradient of the residual stream
        final float[] dnorm;   // (BT, C) gradient of a norm output
        final float[] dnorm2;  // (BT, C) the second branch's norm gradient (parallel residual only)
        final float[] datty;   // (BT, Q)
        final float[] dqkv;    // (BT, W)
        final float[] datt;    // (B, H, T, T)
        final float[] dgate;   // (BT, F) SwiGLU only
        final float[] dup;     // (BT, F)
        final float[] dhidden; // (BT, F)
        final float[] abar;    // (BT, max M + 1) ā handed to taps

        Scratch(ModelConfig c, int BT, int attSize) {
            int C = c.hidden(), F = c.mlp().width(), Q = c.attention().queryWidth();
            dres = new float[BT * C]; dnorm = new float[BT * C];
            dnorm2 = c.parallelResidual() ? new float[BT * C] : null;
            datty = new float[BT * Q];
            dqkv = new float[Math.multiplyExact(BT, c.attention().layout().width())];
            datt = new float[attSize];
            dgate = c.mlp().kind() == ModelConfig.MlpSpec.Kind.SWIGLU ? new float[BT * F] : null;
            dup = new float[BT * F];
            dhidden = new float[BT * F];
            abar = new float[Math.multiplyExact(BT, Math.max(Math.max(C, F), Q) + 1)];
        }
    }

    final int batch, seqLen;
    final float[] encoded;                     // (BT, C) token (+ position) embedding
    final Block[] blocks;
    final float[] finalNorm, finalMean, finalRstd; // (BT, C), (BT), (BT)
    final float[] logits;                      // (BT, V); becomes dL/dlogits in backward
    final float[] lse;                         // (BT) log-sum-exp of each logits row
    final Scratch scratch;

    Activations(ModelConfig c, int B, int T) {
        int BT = Math.multiplyExact(B, T), C = c.hidden();
        Math.multiplyExact(BT, Math.max(c.mlp().width(), c.attention().layout().width()));
        int attSize = Math.multiplyExact(Math.multiplyExact(B, c.attention().heads()), Math.multiplyExact(T, T));
        this.batch = B;
        this.seqLen = T;
        encoded = new float[Math.multiplyExact(BT, C)];
        blocks = new Block[c.layers()];
        for (int l = 0; l < blocks.length; l++) blocks[l] = new Block(c, BT, attSize);
        finalNorm = new float[BT * C]; finalMean = new float[BT]; finalRstd = new float[BT];
        logits = new float[Math.multiplyExact(BT, c.vocabSize())];
        lse = new float[BT];
        scratch = new Scratch(c, BT, attSize);
    }

    /**
     * Heap bytes of the buffers for a (B, T) batch: the same arrays as the constructor allocates,
     * each counted as {@link HeapArrays#floats} does.
     */
    static long bytes(ModelConfig c, int B, int T) {
        long BT = (long) B * T, C = c.hidden(), F = c.mlp().width(), Q = c.attention().queryWidth(), W = c.attention().layout().width();
        long att = (long) B * c.attention().heads() * T * T;
        boolean swiglu = c.mlp().kind() == ModelConfig.MlpSpec.Kind.SWIGLU, parallel = c.parallelResidual();
        long bt = HeapArrays.floats(BT), btc = HeapArrays.floats(BT * C), btf = HeapArrays.floats(BT * F), btq = HeapArrays.floats(BT * Q);
        long btw = HeapArrays.floats(BT * W), attBytes = HeapArrays.floats(att);
        long block = btc * (parallel ? 3 : 4) + 4 * bt + btw + attBytes + btq + btf * (swiglu ? 3 : 2);
        long scratch = btc * (parallel ? 3 : 2) + btq + btw + attBytes + btf * (swiglu ? 3 : 2) + HeapArrays.floats(BT * (Math.max(Math.max(C, F), Q) + 1));
        return btc + c.layers() * block + btc + 2 * bt + HeapArrays.floats(BT * c.vocabSize()) + bt + scratch;
    }

    /** Whether a (B, T) batch fits: every buffer is used as a dense prefix of its capacity. */
    boolean fits(int B, int T) {
        return T <= seqLen && (long) B * T <= (long) batch * seqLen && (long) B * T * T <= (long) batch * seqLen * seqLen;
    }
}
