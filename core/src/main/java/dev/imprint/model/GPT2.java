package dev.imprint.model;

import dev.imprint.tensor.Attention;
import dev.imprint.tensor.Gelu;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.LayerNorm;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;
import dev.imprint.tensor.Softmax;
import dev.imprint.tensor.Vec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static dev.imprint.model.ParameterKind.*;

/**
 * GPT-2 (learned positions, pre-LN blocks, GELU MLP, tied unembedding) with an explicit forward
 * and backward, in the manner of llm.c. Dimensions: B batch, T tokens, C channels, H heads,
 * V vocab, L layers; BT = B·T rows.
 *
 * <p>Use: {@link #forward} a batch, then read {@link #loss}/{@link #logProbs} or draw
 * {@link #sampleTargets}, then optionally {@link #backward} once: it consumes the logits. Backward
 * hands every tracked layer's ā_t and Ds_t to a {@link GradientTap} and, when given a gradient
 * block, accumulates parameter gradients into it. Not thread-safe: one instance per thread of
 * control; each call uses all cores through {@link Parallel}.
 */
public final class GPT2 {
    private final GPT2Config config;
    private final Parameters params;
    private final List<TrackedLayer> tracked;
    private final TrackedLayer[][] trackedBySlot; // [layer][slot: 0 c_attn, 1 attn.c_proj, 2 c_fc, 3 mlp.c_proj]
    private Activations acts;
    private SequenceBatch batch;
    private boolean logitsValid;

    public GPT2(Parameters params, LayerSelection selection) {
        this.params = params;
        this.config = params.layout().config();
        if (config.activation() != GPT2Config.Activation.GELU_TANH)
            throw new dev.imprint.InputException("activation_function " + config.activation().hfName + " is not supported: Imprint's GPT-2 uses gelu_new (tanh approximation)");
        int C = config.nEmbd(), L = config.nLayer();
        List<TrackedLayer> list = new ArrayList<>();
        trackedBySlot = new TrackedLayer[L][4];
        for (int l = 0; l < L; l++) {
            if (selection == LayerSelection.ALL_LINEAR) {
                trackedBySlot[l][0] = track(list, "h." + l + ".attn.c_attn", C, 3 * C);
                trackedBySlot[l][1] = track(list, "h." + l + ".attn.c_proj", C, C);
            }
            trackedBySlot[l][2] = track(list, "h." + l + ".mlp.c_fc", C, 4 * C);
            trackedBySlot[l][3] = track(list, "h." + l + ".mlp.c_proj", 4 * C, C);
        }
        this.tracked = Collections.unmodifiableList(list);
    }

    private static TrackedLayer track(List<TrackedLayer> list, String name, int in, int out) {
        TrackedLayer t = new TrackedLayer(list.size(), name, in, out, true);
        list.add(t);
        return t;
    }

    public GPT2Config config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    /** The layers whose ā and Ds reach taps, in forward order. */
    public List<TrackedLayer> trackedLayers() {
        return tracked;
    }

    /** Runs the forward pass; keeps what backward needs and the logits (BT, V). */
    public void forward(SequenceBatch batch) {
        int B = batch.batchSize(), T = batch.seqLen(), C = config.nEmbd(), V = config.vocabSize(), BT = B * T;
        if (T > config.nPositions())
            throw new IllegalArgumentException("sequence length " + T + " exceeds the model context of " + config.nPositions());
        for (int b = 0; b < B; b++)
            for (int t = 0; t < batch.lengths()[b]; t++) {
                int tok = batch.tokens()[b * T + t];
                if (tok < 0 || tok >= V) throw new IllegalArgumentException("token id " + tok + " outside the vocabulary of " + V);
            }
        if (acts == null || !acts.fits(B, T)) acts = new Activations(config, B, T);
        this.batch = batch;
        float[] p = params.data();
        float eps = (float) config.layerNormEpsilon();

        // encoder: x[b,t] = wte[token] + wpe[t]
        int wte = params.offset(WTE, 0), wpe = params.offset(WPE, 0);
        Parallel.forEach(BT, r -> Vec.add(acts.encoded, r * C, p, wte + batch.tokens()[r] * C, p, wpe + (r % T) * C, C));

        float[] residual = acts.encoded;
        for (int l = 0; l < config.nLayer(); l++) {
            Activations.Layer a = acts.layers[l];
            LayerNorm.forward(a.ln1, 0, a.ln1Mean, a.ln1Rstd, 0, residual, 0, p, params.offset(LN1_W, l), p, params.offset(LN1_B, l), BT, C, eps);
            linear(a.qkv, a.ln1, QKV_W, QKV_B, l, BT, false);
            Attention.forward(a.atty, a.att, a.qkv, B, T, C, config.nHead());
            System.arraycopy(residual, 0, a.res2, 0, BT * C);
            linear(a.res2, a.atty, ATTN_PROJ_W, ATTN_PROJ_B, l, BT, true);           // res2 = residual + attn
            LayerNorm.forward(a.ln2, 0, a.ln2Mean, a.ln2Rstd, 0, a.res2, 0, p, params.offset(LN2_W, l), p, params.offset(LN2_B, l), BT, C, eps);
            linear(a.fch, a.ln2, FC_W, FC_B, l, BT, false);
            Gelu.forward(a.fchGelu, 0, a.fch, 0, BT * 4 * C);
            System.arraycopy(a.res2, 0, a.res3, 0, BT * C);
            linear(a.res3, a.fchGelu, FC_PROJ_W, FC_PROJ_B, l, BT, true);            // res3 = res2 + mlp
            residual = a.res3;
        }
        LayerNorm.forward(acts.lnf, 0, acts.lnfMean, acts.lnfRstd, 0, residual, 0, p, params.offset(LNF_W, 0), p, params.offset(LNF_B, 0), BT, C, eps);
        // tied unembedding: logits = lnf · wteᵀ
        Gemm.mulTransB(Mat.of(acts.logits, BT, V), Mat.of(acts.lnf, BT, C), params.mat(WTE, 0), false);
        Softmax.logSumExp(acts.lse, acts.logits, BT, V);
        logitsValid = true;
    }

    /** out (BT, P) (+)= inp (BT, M) · W (M, P) + b, with W, b the layer's tensors. */
    private void linear(float[] out, float[] inp, ParameterKind w, ParameterKind b, int layer, int rows, boolean accumulate) {
        Mat W = params.mat(w, layer);
        int M = W.rows(), P = W.cols(), bo = params.offset(b, layer);
        Gemm.mul(Mat.of(out, rows, P), Mat.of(inp, rows, M), W, accumulate);
        float[] p = params.data();
        Parallel.forEach(rows, r -> Vec.add(p, bo, out, r * P, P));
    }

    /** The logits (BT, V) of the last forward; valid until backward. */
    public Mat logits() {
        requireLogits();
        return Mat.of(acts.logits, batch.batchSize() * batch.seqLen(), config.vocabSize());
    }

    /** Per position log p(target) (BT); 0 where the weight is 0. */
    public float[] logProbs(Targets targets) {
        requireLogits();
        int V = config.vocabSize(), BT = targets.tokens().length;
        float[] out = new float[BT];
        for (int r = 0; r < BT; r++)
            if (targets.weights()[r] != 0f) out[r] = acts.logits[r * V + targets.tokens()[r]] - acts.lse[r];
        return out;
    }

    /** The summed loss L = −Σ_r w_r log p(target_r) (SPEC §1: a sum, not a mean), in double. */
    public double loss(Targets targets) {
        float[] lp = logProbs(targets);
        double s = 0;
        for (int r = 0; r < lp.length; r++) s -= (double) targets.weights()[r] * lp[r];
        return s;
    }

    /**
     * Labels drawn from the model's own softmax at every real position (SPEC §3: the Fisher needs
     * sampled labels, not the true ones), seeded per position so the draw is independent of threads.
     */
    public Targets sampleTargets(long seed) {
        requireLogits();
        int T = batch.seqLen(), BT = batch.batchSize() * T;
        boolean[] draw = new boolean[BT];
        float[] w = new float[BT];
        for (int b = 0; b < batch.batchSize(); b++)
            for (int t = 0; t < batch.lengths()[b]; t++) {
                draw[b * T + t] = true;
                w[b * T + t] = 1f;
            }
        int[] tok = new int[BT];
        Softmax.sample(tok, acts.logits, acts.lse, draw, BT, config.vocabSize(), seed);
        return new Targets(tok, w);
    }

    /** Backward with taps only (no parameter gradients): what curvature and scoring passes need. */
    public void backward(Targets targets, GradientTap tap) {
        backward(targets, tap, null);
    }

    /**
     * Backpropagates the summed loss of {@code targets} from the last forward. Every tracked layer's
     * ā and Ds go to {@code tap} (may be null); parameter gradients are accumulated (+=) into
     * {@code grads} when it is not null. Consumes the logits.
     */
    public void backward(Targets targets, GradientTap tap, Parameters grads) {
        requireLogits();
        int B = batch.batchSize(), T = batch.seqLen(), C = config.nEmbd(), V = config.vocabSize(), BT = B * T, L = config.nLayer();
        if (targets.tokens().length != BT) throw new IllegalArgumentException("targets for " + targets.tokens().length + " positions, batch has " + BT);
        if (grads != null && grads.layout().size() != params.layout().size()) throw new IllegalArgumentException("gradient block has another layout");
        logitsValid = false;
        float[] p = params.data(), g = grads == null ? null : grads.data();
        Activations.Scratch s = acts.scratch;

        // cross-entropy + softmax: logits become dL/dlogits in place
        Softmax.crossEntropyBackward(acts.logits, acts.lse, targets.tokens(), targets.weights(), BT, V);
        Mat dlogits = Mat.of(acts.logits, BT, V);
        // in forward: logits = lnf · wteᵀ
        Gemm.mul(Mat.of(s.dln, BT, C), dlogits, params.mat(WTE, 0), false);
        if (grads != null) Gemm.mulTransA(grads.mat(WTE, 0), dlogits, Mat.of(acts.lnf, BT, C), true);
        Arrays.fill(s.dres, 0, BT * C, 0f);
        float[] lastResidual = L == 0 ? acts.encoded : acts.layers[L - 1].res3;
        LayerNorm.backward(s.dres, 0, g, off(grads, LNF_W, 0), g, off(grads, LNF_B, 0), s.dln, 0, lastResidual, 0,
                p, params.offset(LNF_W, 0), acts.lnfMean, acts.lnfRstd, 0, BT, C);

        for (int l = L - 1; l >= 0; l--) {
            Activations.Layer a = acts.layers[l];
            float[] inputResidual = l == 0 ? acts.encoded : acts.layers[l - 1].res3;
            // in forward: res3 = res2 + gelu(fch) · Wproj + bproj   → Ds = dres
            handToTap(tap, trackedBySlot[l][3], a.fchGelu, 4 * C, s.dres, C);
            linearBackward(s.dfch, s.dres, a.fchGelu, FC_PROJ_W, FC_PROJ_B, l, BT, grads);
            Gelu.backward(s.dfch, 0, a.fch, 0, s.dfch, 0, BT * 4 * C);
            // in forward: fch = ln2 · Wfc + bfc   → Ds = dfch
            handToTap(tap, trackedBySlot[l][2], a.ln2, C, s.dfch, 4 * C);
            linearBackward(s.dln, s.dfch, a.ln2, FC_W, FC_B, l, BT, grads);
            LayerNorm.backward(s.dres, 0, g, off(grads, LN2_W, l), g, off(grads, LN2_B, l), s.dln, 0, a.res2, 0,
                    p, params.offset(LN2_W, l), a.ln2Mean, a.ln2Rstd, 0, BT, C);
            // in forward: res2 = residual + atty · Wap + bap   → Ds = dres (now dL/dres2)
            handToTap(tap, trackedBySlot[l][1], a.atty, C, s.dres, C);
            linearBackward(s.datty, s.dres, a.atty, ATTN_PROJ_W, ATTN_PROJ_B, l, BT, grads);
            Attention.backward(s.dqkv, s.datt, s.datty, a.qkv, a.att, B, T, C, config.nHead());
            // in forward: qkv = ln1 · Wqkv + bqkv   → Ds = dqkv
            handToTap(tap, trackedBySlot[l][0], a.ln1, C, s.dqkv, 3 * C);
            linearBackward(s.dln, s.dqkv, a.ln1, QKV_W, QKV_B, l, BT, grads);
            LayerNorm.backward(s.dres, 0, g, off(grads, LN1_W, l), g, off(grads, LN1_B, l), s.dln, 0, inputResidual, 0,
                    p, params.offset(LN1_W, l), a.ln1Mean, a.ln1Rstd, 0, BT, C);
        }
        if (grads != null) {
            // in forward: x[b,t] = wte[token] + wpe[t]; rows are summed serially (tokens repeat)
            int wte = grads.offset(WTE, 0), wpe = grads.offset(WPE, 0);
            for (int r = 0; r < BT; r++) {
                if (!batch.valid(r / T, r % T)) continue;
                Vec.add(s.dres, r * C, g, wte + batch.tokens()[r] * C, C);
                Vec.add(s.dres, r * C, g, wpe + (r % T) * C, C);
            }
        }
    }

    private static int off(Parameters grads, ParameterKind k, int layer) {
        return grads == null ? 0 : grads.offset(k, layer);
    }

    /**
     * In forward out = inp · W + b. So dinp = dout · Wᵀ (overwritten), dW += inpᵀ · dout,
     * db += Σ_rows dout.
     */
    private void linearBackward(float[] dinp, float[] dout, float[] inp, ParameterKind w, ParameterKind b, int layer, int rows, Parameters grads) {
        Mat W = params.mat(w, layer);
        int M = W.rows(), P = W.cols();
        Mat dO = Mat.of(dout, rows, P);
        Gemm.mulTransB(Mat.of(dinp, rows, M), dO, W, false);
        if (grads == null) return;
        Gemm.mulTransA(grads.mat(w, layer), Mat.of(inp, rows, M), dO, true);
        float[] g = grads.data();
        int bo = grads.offset(b, layer);
        for (int r = 0; r < rows; r++) Vec.add(dout, r * P, g, bo, P);
    }

    /** Hands ā = (a, 1) (zero rows at padding) and Ds of one tracked layer to the tap. */
    private void handToTap(GradientTap tap, TrackedLayer layer, float[] inp, int M, float[] ds, int P) {
        if (tap == null || layer == null) return;
        int T = batch.seqLen(), BT = batch.batchSize() * T, W = M + 1;
        float[] abar = acts.scratch.abar;
        Parallel.forEach(BT, r -> {
            if (batch.valid(r / T, r % T)) {
                System.arraycopy(inp, r * M, abar, r * W, M);
                abar[r * W + M] = 1f;
            } else {
                Arrays.fill(abar, r * W, r * W + W, 0f);
            }
        });
        tap.onLayer(layer, batch, Mat.of(abar, BT, W), Mat.of(ds, BT, P));
    }

    private void requireLogits() {
        if (!logitsValid) throw new IllegalStateException("no logits: call forward first (backward consumes them)");
    }
}
