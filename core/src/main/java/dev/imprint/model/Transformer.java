package dev.imprint.model;

import dev.imprint.InputException;
import dev.imprint.model.ModelConfig.MlpSpec;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ModelConfig.QkvFusion;
import dev.imprint.tensor.Attention;
import dev.imprint.tensor.Gelu;
import dev.imprint.tensor.Gemm;
import dev.imprint.tensor.LayerNorm;
import dev.imprint.tensor.Mat;
import dev.imprint.tensor.Parallel;
import dev.imprint.tensor.RmsNorm;
import dev.imprint.tensor.Rope;
import dev.imprint.tensor.Softmax;
import dev.imprint.tensor.SwiGlu;
import dev.imprint.tensor.Vec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static dev.imprint.model.ParameterRole.*;

/**
 * The decoder-only transformer of every family, assembled from a {@link ModelConfig}, with an
 * explicit forward and backward in the manner of llm.c: pre-norm blocks of self-attention and an
 * MLP, sequential or parallel residual, then a final norm and the unembedding. Dimensions:
 * B batch, T tokens, C channels, H heads, KV key/value heads, D head size, Q = H·D, K = KV·D,
 * W = Q + 2K, F MLP width, V vocab, L layers; BT = B·T rows. Linear weights are (out, in), so a
 * linear layer is s = a·Wᵀ + b on rows.
 *
 * <p>Backward hands every tracked layer's ā and Ds to a {@link GradientTap} and, when given a
 * gradient block, accumulates parameter gradients into it. Each call uses all cores through
 * {@link Parallel}.
 */
public final class Transformer implements LanguageModel {
    private final ModelConfig config;
    private final Parameters params;
    private final Attention.Layout qkvLayout;
    private final Gelu gelu;                 // null for SwiGLU
    private final List<TrackedLayer> tracked;
    private final TrackedLayer[][] trackedByRole; // [role][layer], null where untracked
    private Activations acts;
    private Rope rope;                       // null for learned positions
    private SequenceBatch batch;
    private boolean logitsValid;

    public Transformer(Parameters params, LayerSelection selection) {
        this.params = params;
        this.config = params.config();
        this.qkvLayout = config.attention().layout();
        this.gelu = switch (config.mlp().kind()) {
            case GELU_TANH -> Gelu.TANH;
            case GELU_EXACT -> Gelu.EXACT;
            case SWIGLU -> null;
        };
        ParameterLayout layout = params.layout();
        List<TrackedLayer> list = new ArrayList<>();
        trackedByRole = new TrackedLayer[ParameterRole.values().length][config.layers()];
        List<ParameterRole> roles = new ArrayList<>();
        if (selection == LayerSelection.ALL_LINEAR)
            roles.addAll(config.attention().fusion() == QkvFusion.SEPARATE ? List.of(Q_W, K_W, V_W, O_W) : List.of(QKV_W, O_W));
        if (config.mlp().kind() == MlpSpec.Kind.SWIGLU) roles.add(GATE_W);
        roles.addAll(List.of(UP_W, DOWN_W));
        for (int l = 0; l < config.layers(); l++)
            for (ParameterRole w : roles) {
                ParameterLayout.Entry e = layout.entry(w, l);
                TrackedLayer t = new TrackedLayer(list.size(), config.family().modulePath(w, l), e.cols(), e.rows(), layout.has(bias(w), l));
                trackedByRole[w.ordinal()][l] = t;
                list.add(t);
            }
        this.tracked = Collections.unmodifiableList(list);
    }

    /** The bias that goes with a linear weight. */
    private static ParameterRole bias(ParameterRole weight) {
        return switch (weight) {
            case QKV_W -> QKV_B;
            case Q_W -> Q_B;
            case K_W -> K_B;
            case V_W -> V_B;
            case O_W -> O_B;
            case GATE_W -> GATE_B;
            case UP_W -> UP_B;
            case DOWN_W -> DOWN_B;
            default -> throw new IllegalArgumentException(weight + " is not a linear weight");
        };
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public Parameters parameters() {
        return params;
    }

    @Override
    public List<TrackedLayer> trackedLayers() {
        return tracked;
    }

    @Override
    public long activationBytes(int batchSize, int seqLen) {
        return Activations.bytes(config, batchSize, seqLen);
    }

    @Override
    public void forward(SequenceBatch batch) {
        int B = batch.batchSize(), T = batch.seqLen(), C = config.hidden(), V = config.vocabSize(), BT = B * T;
        if (T > config.contextLength())
            throw new IllegalArgumentException("sequence length " + T + " exceeds the model context of " + config.contextLength());
        for (int b = 0; b < B; b++)
            for (int t = 0; t < batch.lengths()[b]; t++) {
                int tok = batch.tokens()[b * T + t];
                if (tok < 0 || tok >= V) throw new IllegalArgumentException("token id " + tok + " outside the vocabulary of " + V);
            }
        if (acts == null || !acts.fits(B, T)) {
            acts = null; // let the old buffers go before the new ones are allocated
            acts = new Activations(config, B, T);
            if (config.positions() instanceof Positions.Rotary r) rope = Rope.of(r.rotaryDims(), T, r.theta(), r.scaling());
        }
        this.batch = batch;

        // encoder: x[b,t] = E[token] (+ P[t] for learned positions)
        float[] wte = params.tensor(TOKEN_EMBEDDING, -1);
        if (config.positions() instanceof Positions.Learned) {
            float[] wpe = params.tensor(POSITION_EMBEDDING, -1);
            Parallel.forEach(BT, r -> Vec.add(acts.encoded, r * C, wte, batch.tokens()[r] * C, wpe, (r % T) * C, C));
        } else {
            Parallel.forEach(BT, r -> System.arraycopy(wte, batch.tokens()[r] * C, acts.encoded, r * C, C));
        }

        float[] x = acts.encoded;
        for (int l = 0; l < config.layers(); l++) {
            Activations.Block a = acts.blocks[l];
            norm(a.norm1, a.norm1Mean, a.norm1Rstd, x, NORM1_W, NORM1_B, l, BT);
            attention(a, l, B, T);
            System.arraycopy(x, 0, a.out, 0, BT * C);
            if (config.parallelResidual()) {
                // out = x + attn(norm1 x) + mlp(norm2 x)
                linear(out(a.out, BT), Mat.of(a.atty, BT, config.attention().queryWidth()), O_W, l, true);
                norm(a.norm2, a.norm2Mean, a.norm2Rstd, x, NORM2_W, NORM2_B, l, BT);
            } else {
                // res2 = x + attn(norm1 x); out = res2 + mlp(norm2 res2)
                System.arraycopy(x, 0, a.res2, 0, BT * C);
                linear(out(a.res2, BT), Mat.of(a.atty, BT, config.attention().queryWidth()), O_W, l, true);
                norm(a.norm2, a.norm2Mean, a.norm2Rstd, a.res2, NORM2_W, NORM2_B, l, BT);
                System.arraycopy(a.res2, 0, a.out, 0, BT * C);
            }
            mlp(a, l, BT);
            x = a.out;
        }
        norm(acts.finalNorm, acts.finalMean, acts.finalRstd, x, FINAL_NORM_W, FINAL_NORM_B, -1, BT);
        // unembedding: logits = norm_f · Eᵀ (tied) or · lm_headᵀ
        Gemm.mulTransB(Mat.of(acts.logits, BT, V), Mat.of(acts.finalNorm, BT, C), params.mat(head(), -1), false);
        Softmax.logSumExp(acts.lse, acts.logits, BT, V);
        logitsValid = true;
    }

    private ParameterRole head() {
        return config.tiedHead() ? TOKEN_EMBEDDING : LM_HEAD;
    }

    private Mat out(float[] buffer, int BT) {
        return Mat.of(buffer, BT, config.hidden());
    }

    /** qkv ← the q, k, v projections of norm1 (rotated when positions are rotary); atty ← attention. */
    private void attention(Activations.Block a, int l, int B, int T) {
        int BT = B * T, C = config.hidden(), Wd = qkvLayout.width(), Q = config.attention().queryWidth(), K = config.attention().kvWidth();
        Mat in = Mat.of(a.norm1, BT, C);
        if (config.attention().fusion() == QkvFusion.SEPARATE) {
            linear(new Mat(a.qkv, 0, BT, Q, Wd), in, Q_W, l, false);
            linear(new Mat(a.qkv, Q, BT, K, Wd), in, K_W, l, false);
            linear(new Mat(a.qkv, Q + K, BT, K, Wd), in, V_W, l, false);
        } else {
            linear(Mat.of(a.qkv, BT, Wd), in, QKV_W, l, false);
        }
        if (rope != null) {
            for (int h = 0; h < qkvLayout.heads(); h++) rope.forward(a.qkv, BT, T, Wd, qkvLayout.query(h));
            for (int g = 0; g < qkvLayout.kvHeads(); g++) rope.forward(a.qkv, BT, T, Wd, qkvLayout.key(g));
        }
        Attention.forward(a.atty, a.att, a.qkv, qkvLayout, B, T);
    }

    /** a.out += down(act(norm2)): GELU between up and down, or SwiGLU's silu(gate) ∘ up. */
    private void mlp(Activations.Block a, int l, int BT) {
        int C = config.hidden(), F = config.mlp().width();
        Mat in = Mat.of(a.norm2, BT, C);
        linear(Mat.of(a.up, BT, F), in, UP_W, l, false);
        if (gelu != null) {
            gelu.forward(a.hidden, a.up, BT * F);
        } else {
            linear(Mat.of(a.gate, BT, F), in, GATE_W, l, false);
            SwiGlu.forward(a.hidden, a.gate, a.up, BT * F);
        }
        linear(out(a.out, BT), Mat.of(a.hidden, BT, F), DOWN_W, l, true);
    }

    /** out (BT, P) (+)= inp (BT, M) · Wᵀ + b, with W (P, M) the layer's weight and b its bias if it has one. */
    private void linear(Mat out, Mat inp, ParameterRole w, int layer, boolean accumulate) {
        Gemm.mulTransB(out, inp, params.mat(w, layer), accumulate);
        if (!params.layout().has(bias(w), layer)) return;
        float[] b = params.tensor(bias(w), layer), o = out.data();
        int P = out.cols();
        Parallel.forEach(out.rows(), r -> Vec.add(b, 0, o, out.offset() + r * out.stride(), P));
    }

    private void norm(float[] out, float[] mean, float[] rstd, float[] inp, ParameterRole w, ParameterRole b, int layer, int rows) {
        Norm n = config.norm();
        float eps = (float) n.eps();
        if (n.kind() == Norm.Kind.RMS_NORM) RmsNorm.forward(out, rstd, inp, params.tensor(w, layer), rows, config.hidden(), eps);
        else LayerNorm.forward(out, mean, rstd, inp, params.tensor(w, layer), n.bias() ? params.tensor(b, layer) : null, rows, config.hidden(), eps);
    }

    @Override
    public Mat logits() {
        requireLogits();
        return Mat.of(acts.logits, batch.batchSize() * batch.seqLen(), config.vocabSize());
    }

    @Override
    public float[] logProbs(Targets targets) {
        requireLogits();
        int V = config.vocabSize(), BT = targets.tokens().length;
        float[] out = new float[BT];
        for (int r = 0; r < BT; r++)
            if (targets.weights()[r] != 0f) out[r] = acts.logits[r * V + targets.tokens()[r]] - acts.lse[r];
        return out;
    }

    @Override
    public Targets sampleTargets(long seed, long[] sequenceIds) {
        requireLogits();
        int T = batch.seqLen(), BT = batch.batchSize() * T;
        if (sequenceIds.length != batch.batchSize())
            throw new IllegalArgumentException(sequenceIds.length + " sequence ids for a batch of " + batch.batchSize());
        boolean[] draw = new boolean[BT];
        float[] w = new float[BT];
        long[] rowSeeds = new long[BT];
        for (int b = 0; b < batch.batchSize(); b++)
            for (int t = 0; t + 1 < batch.lengths()[b]; t++) { // the positions the training loss has: the last token predicts nothing
                draw[b * T + t] = true;
                w[b * T + t] = 1f;
                rowSeeds[b * T + t] = (seed * 0x9E3779B97F4A7C15L + sequenceIds[b]) * 0xBF58476D1CE4E5B9L + t;
            }
        int[] tok = new int[BT];
        Softmax.sample(tok, acts.logits, acts.lse, draw, rowSeeds, BT, config.vocabSize());
        return new Targets(tok, w);
    }

    @Override
    public void backward(Targets targets, GradientTap tap, Parameters grads) {
        requireLogits();
        int B = batch.batchSize(), T = batch.seqLen(), C = config.hidden(), V = config.vocabSize(), BT = B * T, L = config.layers();
        if (targets.tokens().length != BT) throw new IllegalArgumentException("targets for " + targets.tokens().length + " positions, batch has " + BT);
        if (grads != null && grads.layout() != params.layout() && !grads.layout().entries().equals(params.layout().entries()))
            throw new IllegalArgumentException("gradient block has another layout");
        logitsValid = false;
        Activations.Scratch s = acts.scratch;

        // cross-entropy + softmax: logits become dL/dlogits in place
        Softmax.crossEntropyBackward(acts.logits, acts.lse, targets.tokens(), targets.weights(), BT, V);
        Mat dlogits = Mat.of(acts.logits, BT, V);
        // in forward: logits = norm_f · headᵀ, head (V, C)
        Gemm.mul(Mat.of(s.dnorm, BT, C), dlogits, params.mat(head(), -1), false);
        if (grads != null) Gemm.mulTransA(grads.mat(head(), -1), dlogits, Mat.of(acts.finalNorm, BT, C), true);
        Arrays.fill(s.dres, 0, BT * C, 0f);
        float[] last = L == 0 ? acts.encoded : acts.blocks[L - 1].out;
        normBackward(s.dres, s.dnorm, last, acts.finalMean, acts.finalRstd, FINAL_NORM_W, FINAL_NORM_B, -1, BT, grads);

        for (int l = L - 1; l >= 0; l--) {
            Activations.Block a = acts.blocks[l];
            float[] x = l == 0 ? acts.encoded : acts.blocks[l - 1].out;
            if (config.parallelResidual()) {
                // in forward: out = x + attn(norm1 x) + mlp(norm2 x) → both branches see Ds = dres
                mlpBackward(a, l, s.dnorm, tap, grads, BT);
                attentionBackward(a, l, s.dnorm2, tap, grads, B, T);
                normBackward(s.dres, s.dnorm, x, a.norm2Mean, a.norm2Rstd, NORM2_W, NORM2_B, l, BT, grads);
                normBackward(s.dres, s.dnorm2, x, a.norm1Mean, a.norm1Rstd, NORM1_W, NORM1_B, l, BT, grads);
            } else {
                // in forward: out = res2 + mlp(norm2 res2), res2 = x + attn(norm1 x)
                mlpBackward(a, l, s.dnorm, tap, grads, BT);
                normBackward(s.dres, s.dnorm, a.res2, a.norm2Mean, a.norm2Rstd, NORM2_W, NORM2_B, l, BT, grads);
                attentionBackward(a, l, s.dnorm, tap, grads, B, T);
                normBackward(s.dres, s.dnorm, x, a.norm1Mean, a.norm1Rstd, NORM1_W, NORM1_B, l, BT, grads);
            }
        }
        if (grads != null) {
            // in forward: x[b,t] = E[token] (+ P[t]); rows are summed serially (tokens repeat)
            float[] gE = grads.tensor(TOKEN_EMBEDDING, -1);
            float[] gP = config.positions() instanceof Positions.Learned ? grads.tensor(POSITION_EMBEDDING, -1) : null;
            for (int r = 0; r < BT; r++) {
                if (!batch.valid(r / T, r % T)) continue;
                Vec.add(s.dres, r * C, gE, batch.tokens()[r] * C, C);
                if (gP != null) Vec.add(s.dres, r * C, gP, (r % T) * C, C);
            }
        }
    }

    /** In forward out += down(act(norm2)); Ds of down is dres. Writes dL/dnorm2 into {@code dnorm}. */
    private void mlpBackward(Activations.Block a, int l, float[] dnorm, GradientTap tap, Parameters grads, int BT) {
        Activations.Scratch s = acts.scratch;
        int C = config.hidden(), F = config.mlp().width();
        Mat dres = Mat.of(s.dres, BT, C), hidden = Mat.of(a.hidden, BT, F), in = Mat.of(a.norm2, BT, C);
        handToTap(tap, DOWN_W, l, hidden, dres);
        linearBackward(Mat.of(s.dhidden, BT, F), dres, hidden, DOWN_W, l, grads, false);
        Mat dup = Mat.of(s.dup, BT, F), dnormMat = Mat.of(dnorm, BT, C);
        if (gelu != null) {
            // in forward hidden = gelu(up) → Ds of up is gelu'(up) ∘ dhidden
            gelu.backward(s.dup, a.up, s.dhidden, BT * F);
            handToTap(tap, UP_W, l, in, dup);
            linearBackward(dnormMat, dup, in, UP_W, l, grads, false);
        } else {
            // in forward hidden = silu(gate) ∘ up → Ds of gate and of up
            SwiGlu.backward(s.dgate, s.dup, s.dhidden, a.gate, a.up, BT * F);
            Mat dgate = Mat.of(s.dgate, BT, F);
            handToTap(tap, GATE_W, l, in, dgate);
            handToTap(tap, UP_W, l, in, dup);
            linearBackward(dnormMat, dgate, in, GATE_W, l, grads, false);
            linearBackward(dnormMat, dup, in, UP_W, l, grads, true);
        }
    }

    /** In forward res += atty · Oᵀ, atty = attention(rope(qkv(norm1))); Ds of O is dres. Writes dL/dnorm1 into {@code dnorm}. */
    private void attentionBackward(Activations.Block a, int l, float[] dnorm, GradientTap tap, Parameters grads, int B, int T) {
        Activations.Scratch s = acts.scratch;
        int BT = B * T, C = config.hidden(), Wd = qkvLayout.width(), Q = config.attention().queryWidth(), K = config.attention().kvWidth();
        Mat dres = Mat.of(s.dres, BT, C), atty = Mat.of(a.atty, BT, Q), in = Mat.of(a.norm1, BT, C), dnormMat = Mat.of(dnorm, BT, C);
        handToTap(tap, O_W, l, atty, dres);
        linearBackward(Mat.of(s.datty, BT, Q), dres, atty, O_W, l, grads, false);
        Attention.backward(s.dqkv, s.datt, s.datty, a.qkv, a.att, qkvLayout, B, T);
        if (rope != null) {
            // in forward q and k were rotated in place: the gradient of the projection is the gradient rotated back
            for (int h = 0; h < qkvLayout.heads(); h++) rope.backward(s.dqkv, BT, T, Wd, qkvLayout.query(h));
            for (int g = 0; g < qkvLayout.kvHeads(); g++) rope.backward(s.dqkv, BT, T, Wd, qkvLayout.key(g));
        }
        if (config.attention().fusion() == QkvFusion.SEPARATE) {
            Mat dq = new Mat(s.dqkv, 0, BT, Q, Wd), dk = new Mat(s.dqkv, Q, BT, K, Wd), dv = new Mat(s.dqkv, Q + K, BT, K, Wd);
            handToTap(tap, Q_W, l, in, dq);
            handToTap(tap, K_W, l, in, dk);
            handToTap(tap, V_W, l, in, dv);
            linearBackward(dnormMat, dq, in, Q_W, l, grads, false);
            linearBackward(dnormMat, dk, in, K_W, l, grads, true);
            linearBackward(dnormMat, dv, in, V_W, l, grads, true);
        } else {
            Mat dqkv = Mat.of(s.dqkv, BT, Wd);
            handToTap(tap, QKV_W, l, in, dqkv);
            linearBackward(dnormMat, dqkv, in, QKV_W, l, grads, false);
        }
    }

    /**
     * In forward out = inp · Wᵀ + b with W (P, M). So dinp (+)= dout · W, dW += doutᵀ · inp,
     * db += Σ_rows dout.
     */
    private void linearBackward(Mat dinp, Mat dout, Mat inp, ParameterRole w, int layer, Parameters grads, boolean accumulate) {
        Gemm.mul(dinp, dout, params.mat(w, layer), accumulate);
        if (grads == null) return;
        Gemm.mulTransA(grads.mat(w, layer), dout, inp, true);
        if (!params.layout().has(bias(w), layer)) return;
        float[] gb = grads.tensor(bias(w), layer), d = dout.data();
        for (int r = 0; r < dout.rows(); r++) Vec.add(d, dout.offset() + r * dout.stride(), gb, 0, dout.cols());
    }

    /** dinp += the norm's input gradient from dout; its gain (and bias) gradients into grads. */
    private void normBackward(float[] dinp, float[] dout, float[] inp, float[] mean, float[] rstd, ParameterRole w, ParameterRole b,
                              int layer, int rows, Parameters grads) {
        Norm n = config.norm();
        float[] gw = grads == null ? null : grads.tensor(w, layer);
        if (n.kind() == Norm.Kind.RMS_NORM) {
            RmsNorm.backward(dinp, gw, dout, inp, params.tensor(w, layer), rstd, rows, config.hidden());
        } else {
            float[] gb = grads == null || !n.bias() ? null : grads.tensor(b, layer);
            LayerNorm.backward(dinp, gw, gb, dout, inp, params.tensor(w, layer), mean, rstd, rows, config.hidden());
        }
    }

    /** Hands ā (with the homogeneous 1 where the layer has a bias; zero rows at padding) and Ds of one tracked layer to the tap. */
    private void handToTap(GradientTap tap, ParameterRole w, int l, Mat inp, Mat ds) {
        TrackedLayer layer = trackedByRole[w.ordinal()][l];
        if (tap == null || layer == null) return;
        int T = batch.seqLen(), BT = batch.batchSize() * T, M = inp.cols(), Wa = layer.activationDim();
        float[] abar = acts.scratch.abar, src = inp.data();
        Parallel.forEach(BT, r -> {
            if (batch.valid(r / T, r % T)) {
                System.arraycopy(src, inp.offset() + r * inp.stride(), abar, r * Wa, M);
                if (layer.bias()) abar[r * Wa + M] = 1f;
            } else {
                Arrays.fill(abar, r * Wa, r * Wa + Wa, 0f);
            }
        });
        tap.onLayer(layer, batch, Mat.of(abar, BT, Wa), ds);
    }

    private void requireLogits() {
        if (!logitsValid) throw new IllegalStateException("no logits: call forward first (backward consumes them)");
    }
}
