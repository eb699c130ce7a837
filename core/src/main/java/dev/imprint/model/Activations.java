package dev.imprint.model;

/**
 * What the forward keeps for the backward (and the backward's scratch), allocated once per
 * capacity and reused across calls. Dimensions as in {@link GPT2}; shapes in comments.
 */
final class Activations {
    /** One block's saved tensors. */
    static final class Layer {
        final float[] ln1, ln1Mean, ln1Rstd;   // (BT, C), (BT), (BT)
        final float[] qkv;                     // (BT, 3C)
        final float[] att;                     // (B, H, T, T) softmax probabilities
        final float[] atty;                    // (BT, C) attention output before c_proj
        final float[] res2;                    // (BT, C) residual after attention
        final float[] ln2, ln2Mean, ln2Rstd;   // (BT, C), (BT), (BT)
        final float[] fch;                     // (BT, 4C) c_fc output, pre-GELU
        final float[] fchGelu;                 // (BT, 4C)
        final float[] res3;                    // (BT, C) residual after the MLP: the block output

        Layer(int BT, int C, int attSize) {
            ln1 = new float[BT * C]; ln1Mean = new float[BT]; ln1Rstd = new float[BT];
            qkv = new float[BT * 3 * C];
            att = new float[attSize];
            atty = new float[BT * C];
            res2 = new float[BT * C];
            ln2 = new float[BT * C]; ln2Mean = new float[BT]; ln2Rstd = new float[BT];
            fch = new float[BT * 4 * C];
            fchGelu = new float[BT * 4 * C];
            res3 = new float[BT * C];
        }
    }

    /** Backward buffers, shared by all blocks. */
    static final class Scratch {
        final float[] dres;    // (BT, C) gradient of the residual stream
        final float[] dln;     // (BT, C) gradient of a layer-norm output
        final float[] datty;   // (BT, C)
        final float[] dqkv;    // (BT, 3C)
        final float[] datt;    // (B, H, T, T)
        final float[] dfch;    // (BT, 4C)
        final float[] abar;    // (BT, 4C+1) ā handed to taps

        Scratch(int BT, int C, int attSize) {
            dres = new float[BT * C]; dln = new float[BT * C]; datty = new float[BT * C];
            dqkv = new float[BT * 3 * C]; datt = new float[attSize]; dfch = new float[BT * 4 * C];
            abar = new float[BT * (4 * C + 1)];
        }
    }

    final int batch, seqLen, heads;
    final float[] encoded;                     // (BT, C) token + position embedding
    final Layer[] layers;
    final float[] lnf, lnfMean, lnfRstd;       // (BT, C), (BT), (BT)
    final float[] logits;                      // (BT, V); becomes dL/dlogits in backward
    final float[] lse;                         // (BT) log-sum-exp of each logits row
    final Scratch scratch;

    Activations(GPT2Config c, int B, int T) {
        int BT = Math.multiplyExact(B, T), C = c.nEmbd();
        int attSize = Math.multiplyExact(Math.multiplyExact(B, c.nHead()), T * T);
        Math.multiplyExact(BT, c.vocabSize());
        this.batch = B;
        this.seqLen = T;
        this.heads = c.nHead();
        encoded = new float[BT * C];
        layers = new Layer[c.nLayer()];
        for (int l = 0; l < layers.length; l++) layers[l] = new Layer(BT, C, attSize);
        lnf = new float[BT * C]; lnfMean = new float[BT]; lnfRstd = new float[BT];
        logits = new float[BT * c.vocabSize()];
        lse = new float[BT];
        scratch = new Scratch(BT, C, attSize);
    }

    /** Whether a (B, T) batch fits: every buffer is used as a dense prefix of its capacity. */
    boolean fits(int B, int T) {
        return T <= seqLen && (long) B * T <= (long) batch * seqLen && (long) B * T * T <= (long) batch * seqLen * seqLen;
    }
}
