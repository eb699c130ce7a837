package dev.imprint.peer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.imprint.model.ModelConfig;
import dev.imprint.model.ModelConfig.Norm;
import dev.imprint.model.ModelConfig.Positions;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.ParameterRole;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;
import dev.imprint.tensor.Rope;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import static dev.imprint.model.ParameterRole.*;

/**
 * The transformer of every family, written with DJL NDArray operations on libtorch from the
 * Hugging Face definitions and differentiated by libtorch's autograd: the independent numerical
 * reference and the speed peer. Dimensions: B batch, T tokens, C channels, H heads, KV key/value
 * heads, D head size, V vocab, L layers.
 *
 * <p>Parameters are copied once from Imprint's {@link Parameters} (one leaf tensor per layout
 * entry, same shapes: linear weights (out, in), y = x·Wᵀ + b); gradients go back in the same
 * layout. Every intermediate of a call lives in an {@link NDScope} that closes with the call, so
 * memory does not grow across iterations. Not thread-safe.
 */
public final class TorchTransformer implements AutoCloseable {
    private static final String ENGINE = "PyTorch";
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

    private final ModelConfig config;
    private final ParameterLayout layout;
    private final NDManager manager;                     // owns the parameters, masks and rotary tables
    private final NDArray[] tensors;                     // [entry index], leaves with gradients
    private final Map<Integer, NDArray> causalMasks = new HashMap<>(); // T → (T, T): 0 on/below the diagonal, −inf above
    private final Map<Integer, NDArray[]> rotaryTables = new HashMap<>(); // T → cos, sin (T, R/2)
    private boolean gradientsExist;

    /**
     * Sets libtorch's intra-op and inter-op thread counts. Call before the first model is made
     * (the engine reads the inter-op count once, when it loads); the intra-op count is applied again
     * if the engine is already loaded. Returns the intra-op count libtorch reports.
     */
    public static int useThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("thread count " + threads + " < 1");
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(threads));
        Engine.getEngine(ENGINE);
        if (JniUtils.getNumThreads() != threads) JniUtils.setNumThreads(threads);
        return JniUtils.getNumThreads();
    }

    /** libtorch's version string, e.g. {@code 2.7.1}. */
    public static String engineVersion() {
        return Engine.getEngine(ENGINE).getVersion();
    }

    /** Copies {@code params} into libtorch leaf tensors that require gradients. */
    public TorchTransformer(Parameters params) {
        this.layout = params.layout();
        this.config = layout.config();
        this.manager = Engine.getEngine(ENGINE).newBaseManager();
        this.tensors = new NDArray[layout.entries().size()];
        for (ParameterLayout.Entry e : layout.entries()) {
            // a direct ByteBuffer becomes the tensor's storage as is (libtorch from_blob); any other buffer is copied once more
            ByteBuffer buf = ByteBuffer.allocateDirect(4 * e.size()).order(ByteOrder.nativeOrder());
            buf.asFloatBuffer().put(params.tensor(e));
            Shape shape = e.role().vector() ? new Shape(e.cols()) : new Shape(e.rows(), e.cols());
            NDArray t = manager.create(buf, shape, DataType.FLOAT32);
            NDScope.unregister(t); // owned by this model, not by a caller's scope
            t.setRequiresGradient(true);
            tensors[e.index()] = t;
        }
    }

    public ModelConfig config() {
        return config;
    }

    /** The logits (B·T·V, row-major (b, t, v)) of a forward without autograd. */
    public float[] logits(SequenceBatch batch) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return forward(batch).toFloatArray();
        }
    }

    /**
     * One training step's worth of work: zeroes the gradients, runs the forward and the summed
     * weighted cross-entropy L = −Σ w·log p(target), and backpropagates it through libtorch's
     * autograd. The gradients stay in libtorch until {@link #gradients}. Returns L.
     */
    public double forwardBackward(SequenceBatch batch, Targets targets) {
        int B = batch.batchSize(), T = batch.seqLen();
        if (targets.tokens().length != B * T)
            throw new IllegalArgumentException("targets for " + targets.tokens().length + " positions, batch has " + B * T);
        if (gradientsExist) for (NDArray t : tensors) JniUtils.zeroGrad((PtNDArray) t);
        try (NDScope scope = new NDScope();
             GradientCollector gc = Engine.getEngine(ENGINE).newGradientCollector()) {
            scope.suppressNotUsedWarning();
            NDArray logits = forward(batch);                                          // (B, T, V)
            NDArray target = manager.create(toLong(targets.tokens()), new Shape(B, T, 1));
            NDArray weight = manager.create(targets.weights(), new Shape(B, T));
            NDArray logp = logits.logSoftmax(-1).gather(target, 2).reshape(B, T); // log p(target) (B, T)
            NDArray loss = logp.mul(weight).sum().neg();
            gc.backward(loss);
            gradientsExist = true;
            return loss.getFloat();
        }
    }

    /** Overwrites {@code out} (Imprint's layout) with the gradients of the last {@link #forwardBackward}. */
    public void gradients(Parameters out) {
        if (!gradientsExist) throw new IllegalStateException("no gradients: call forwardBackward first");
        if (!out.layout().entries().equals(layout.entries())) throw new IllegalArgumentException("gradient block has another layout");
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (ParameterLayout.Entry e : layout.entries()) {
                float[] g = tensors[e.index()].getGradient().toFloatArray();
                System.arraycopy(g, 0, out.tensor(e), 0, e.size());
            }
        }
    }

    /** Logits (B, T, V). Grad mode is whatever the caller set (on inside a GradientCollector). */
    private NDArray forward(SequenceBatch batch) {
        int B = batch.batchSize(), T = batch.seqLen(), C = config.hidden();
        var a = config.attention();
        int H = a.heads(), KV = a.kvHeads(), D = a.headDim();
        if (T > config.contextLength())
            throw new IllegalArgumentException("sequence length " + T + " exceeds the model context of " + config.contextLength());
        NDArray ids = manager.create(toLong(batch.tokens()), new Shape(B, T));
        NDArray x = Embedding.embedding(ids, tensor(TOKEN_EMBEDDING, -1), SparseFormat.DENSE).singletonOrThrow(); // (B, T, C)
        if (config.positions() instanceof Positions.Learned) x = x.add(tensor(POSITION_EMBEDDING, -1).get(new NDIndex("0:{}", T)));
        NDArray mask = causalMask(T);
        float scale = (float) (1.0 / Math.sqrt(D));
        for (int l = 0; l < config.layers(); l++) {
            NDArray h = norm(x, NORM1_W, NORM1_B, l);
            NDArray q, k, v;                                                        // (B, H|KV, T, D)
            switch (a.fusion()) {
                case FUSED_BLOCKS -> {
                    NDList qkv = linear(h, QKV_W, QKV_B, l).split(3, 2);              // 3 × (B, T, C)
                    q = heads(qkv.get(0), B, T, H, D);
                    k = heads(qkv.get(1), B, T, H, D);
                    v = heads(qkv.get(2), B, T, H, D);
                }
                case FUSED_PER_HEAD -> {
                    // GPT-NeoX: view (B, T, H, 3D), then q | k | v within each head
                    NDList qkv = linear(h, QKV_W, QKV_B, l).reshape(B, T, H, 3 * D).split(3, 3);
                    q = qkv.get(0).transpose(0, 2, 1, 3);
                    k = qkv.get(1).transpose(0, 2, 1, 3);
                    v = qkv.get(2).transpose(0, 2, 1, 3);
                }
                default -> {
                    q = heads(linear(h, Q_W, Q_B, l), B, T, H, D);
                    k = heads(linear(h, K_W, K_B, l), B, T, KV, D);
                    v = heads(linear(h, V_W, V_B, l), B, T, KV, D);
                }
            }
            if (config.positions() instanceof Positions.Rotary r) {
                q = rotate(q, r, T);
                k = rotate(k, r, T);
            }
            if (KV != H) {
                // query head h reads key/value head h / (H/KV): each kv head repeated H/KV times in place
                k = k.reshape(B, KV, 1, T, D).broadcast(new Shape(B, KV, H / KV, T, D)).reshape(B, H, T, D);
                v = v.reshape(B, KV, 1, T, D).broadcast(new Shape(B, KV, H / KV, T, D)).reshape(B, H, T, D);
            }
            NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).add(mask).softmax(-1); // (B, H, T, T)
            NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(B, T, H * D);
            NDArray attnOut = linear(y, O_W, O_B, l);
            if (config.parallelResidual()) {
                x = x.add(attnOut).add(mlp(norm(x, NORM2_W, NORM2_B, l), l));
            } else {
                x = x.add(attnOut);
                x = x.add(mlp(norm(x, NORM2_W, NORM2_B, l), l));
            }
        }
        NDArray fin = norm(x, FINAL_NORM_W, FINAL_NORM_B, -1);
        return fin.matMul(tensor(config.tiedHead() ? TOKEN_EMBEDDING : LM_HEAD, -1).transpose());
    }

    private NDArray mlp(NDArray h, int l) {
        return switch (config.mlp().kind()) {
            case GELU_TANH -> linear(geluTanh(linear(h, UP_W, UP_B, l)), DOWN_W, DOWN_B, l);
            case GELU_EXACT -> linear(geluExact(linear(h, UP_W, UP_B, l)), DOWN_W, DOWN_B, l);
            case SWIGLU -> {
                NDArray g = linear(h, GATE_W, GATE_B, l);
                yield linear(g.mul(Activation.sigmoid(g)).mul(linear(h, UP_W, UP_B, l)), DOWN_W, DOWN_B, l);
            }
        };
    }

    /** x·Wᵀ + b, W (out, in) as torch.nn.Linear holds it; no b where the layout has none. */
    private NDArray linear(NDArray x, ParameterRole w, ParameterRole b, int l) {
        NDArray y = x.matMul(tensor(w, l).transpose());
        return layout.has(b, l) ? y.add(tensor(b, l)) : y;
    }

    /** LayerNorm (biased variance; bias where the layout has one) or RMSNorm over the last axis. */
    private NDArray norm(NDArray x, ParameterRole w, ParameterRole b, int l) {
        Norm n = config.norm();
        float eps = (float) n.eps();
        if (n.kind() == Norm.Kind.RMS_NORM) return x.mul(x.square().mean(new int[] {-1}, true).add(eps).pow(-0.5f)).mul(tensor(w, l));
        NDArray centred = x.sub(x.mean(new int[] {-1}, true));
        NDArray y = centred.mul(centred.square().mean(new int[] {-1}, true).add(eps).pow(-0.5f)).mul(tensor(w, l));
        return n.bias() ? y.add(tensor(b, l)) : y;
    }

    /**
     * Rotate-half rotary positions on the first R dims of each head of x (B, heads, T, D): pair
     * (x_i, x_{i+R/2}) → (x_i cos − x_{i+R/2} sin, x_{i+R/2} cos + x_i sin); dims [R, D) pass through.
     */
    private NDArray rotate(NDArray x, Positions.Rotary r, int T) {
        int R = r.rotaryDims(), half = R / 2, D = config.attention().headDim();
        NDArray[] cs = rotaryTables.computeIfAbsent(T, n -> {
            double[] invFreq = inverseFrequencies(r);
            float[] cos = new float[n * half], sin = new float[n * half];
            for (int i = 0; i < half; i++) {
                double inv = invFreq[i];
                for (int t = 0; t < n; t++) {
                    cos[t * half + i] = (float) Math.cos(t * inv);
                    sin[t * half + i] = (float) Math.sin(t * inv);
                }
            }
            NDArray c = manager.create(cos, new Shape(n, half)), s = manager.create(sin, new Shape(n, half));
            NDScope.unregister(c, s);
            return new NDArray[] {c, s};
        });
        NDArray x1 = x.get(new NDIndex(":, :, :, 0:{}", half)), x2 = x.get(new NDIndex(":, :, :, {}:{}", half, R));
        NDArray rotated = x1.mul(cs[0]).sub(x2.mul(cs[1])).concat(x2.mul(cs[0]).add(x1.mul(cs[1])), 3);
        return R == D ? rotated : rotated.concat(x.get(new NDIndex(":, :, :, {}:", R)), 3);
    }

    /**
     * The rotary inverse frequencies (R/2), written here from Hugging Face's
     * {@code _compute_default_rope_parameters} and {@code _compute_llama3_parameters} rather than
     * taken from core's {@link Rope.Scaling#apply}, so that a mistake in either shows up in the
     * cross-check: invFreq_i = 1 / θ^(2i/R); for llama3, with wavelen = 2π/invFreq,
     * <pre>
     *   inv_freq_llama = where(wavelen &gt; low_freq_wavelen, inv_freq / factor, inv_freq)
     *   smooth         = (old_context_len / wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor)
     *   smoothed       = (1 − smooth) · inv_freq_llama / factor + smooth · inv_freq_llama
     *   inv_freq_llama = where(!(wavelen &lt; high_freq_wavelen) &amp;&amp; !(wavelen &gt; low_freq_wavelen), smoothed, inv_freq_llama)
     * </pre>
     * In double (Hugging Face uses float32; the difference is far below the cross-check's tolerance
     * at the test's positions).
     */
    static double[] inverseFrequencies(Positions.Rotary r) {
        int R = r.rotaryDims();
        double[] inv = new double[R / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = 1.0 / Math.pow(r.theta(), (2.0 * i) / R);
        if (r.scaling() instanceof Rope.Scaling.Llama3 s) {
            double lowFreqWavelen = s.originalMaxPositions() / s.lowFreqFactor();
            double highFreqWavelen = s.originalMaxPositions() / s.highFreqFactor();
            for (int i = 0; i < inv.length; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                double llama = wavelen > lowFreqWavelen ? inv[i] / s.factor() : inv[i];
                double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                double smoothed = (1 - smooth) * llama / s.factor() + smooth * llama;
                boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                inv[i] = medium ? smoothed : llama;
            }
        } else if (!(r.scaling() instanceof Rope.Scaling.None)) {
            throw new IllegalArgumentException("rope scaling " + r.scaling() + " has no reference here");
        }
        return inv;
    }

    /** (B, T, heads·D) → (B, heads, T, D). */
    private static NDArray heads(NDArray a, int B, int T, int heads, int D) {
        return a.reshape(B, T, heads, D).transpose(0, 2, 1, 3);
    }

    /**
     * GPT-2's "gelu_new", written out because DJL's gelu is the exact (erf) one:
     * ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³). Computed as x·σ(2u), since ½(1 + tanh u) = σ(2u),
     * with 2u = x·(2√(2/π) + 2√(2/π)·0.044715·x²): fewer operations, and fewer tensors kept for
     * autograd, than the literal form.
     */
    static NDArray geluTanh(NDArray x) {
        NDArray twoU = x.mul(x).mul(2 * SQRT_2_OVER_PI * 0.044715f).add(2 * SQRT_2_OVER_PI).mul(x);
        return x.mul(Activation.sigmoid(twoU));
    }

    /** GELU with erf, ½x(1 + erf(x/√2)): libtorch's own gelu. */
    static NDArray geluExact(NDArray x) {
        return Activation.gelu(x);
    }

    /** The additive causal mask for T tokens, made once per T and kept with the parameters. */
    private NDArray causalMask(int T) {
        return causalMasks.computeIfAbsent(T, n -> {
            float[] m = new float[n * n];
            for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) m[i * n + j] = Float.NEGATIVE_INFINITY;
            NDArray a = manager.create(m, new Shape(n, n));
            NDScope.unregister(a);
            return a;
        });
    }

    private NDArray tensor(ParameterRole role, int layer) {
        return tensors[layout.entry(role, layer).index()];
    }

    private static long[] toLong(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        return out;
    }

    /** Frees the libtorch parameters, gradients, masks and tables. */
    @Override
    public void close() {
        manager.close();
    }
}
