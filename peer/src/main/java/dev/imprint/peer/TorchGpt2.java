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
import ai.djl.nn.norm.LayerNorm;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.imprint.model.GPT2Config;
import dev.imprint.model.ParameterKind;
import dev.imprint.model.ParameterLayout;
import dev.imprint.model.Parameters;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import static dev.imprint.model.ParameterKind.*;

/**
 * The same GPT-2 as {@link dev.imprint.model.GPT2}, written with DJL NDArray operations on
 * libtorch and differentiated by libtorch's autograd: the independent numerical reference and the
 * speed peer. Dimensions: B batch, T tokens, C channels, H heads, D = C/H, V vocab, L layers.
 *
 * <p>Parameters are copied once from Imprint's flat {@link Parameters} (one leaf tensor per layout
 * entry, same shapes: Conv1D weights (in, out), y = x·W + b); gradients go back in the same layout.
 * Every intermediate of a call lives in an {@link NDScope} that closes with the call, so memory
 * does not grow across iterations. Not thread-safe.
 */
public final class TorchGpt2 implements AutoCloseable {
    private static final String ENGINE = "PyTorch";
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

    private final GPT2Config config;
    private final ParameterLayout layout;
    private final NDManager manager;                     // owns the parameters and the masks
    private final NDArray[][] tensors;                   // [kind][layer or 0], leaves with gradients
    private final Map<Integer, NDArray> causalMasks = new HashMap<>(); // T → (T, T): 0 on/below the diagonal, −inf above
    private boolean gradientsExist;

    /**
     * Sets libtorch's intra-op and inter-op thread counts. Call before the first TorchGpt2 is made
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
    public TorchGpt2(Parameters params) {
        this.layout = params.layout();
        this.config = layout.config();
        this.manager = Engine.getEngine(ENGINE).newBaseManager();
        this.tensors = new NDArray[ParameterKind.values().length][Math.max(1, config.nLayer())];
        for (ParameterLayout.Entry e : layout.entries()) {
            // a direct ByteBuffer becomes the tensor's storage as is (libtorch from_blob); any other buffer is copied once more
            ByteBuffer buf = ByteBuffer.allocateDirect(4 * e.size()).order(ByteOrder.nativeOrder());
            buf.asFloatBuffer().put(params.data(), e.offset(), e.size());
            Shape shape = e.kind().vector() ? new Shape(e.cols()) : new Shape(e.rows(), e.cols());
            NDArray t = manager.create(buf, shape, DataType.FLOAT32);
            NDScope.unregister(t); // owned by this model, not by a caller's scope
            t.setRequiresGradient(true);
            tensors[e.kind().ordinal()][Math.max(e.layer(), 0)] = t;
        }
    }

    public GPT2Config config() {
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
        if (gradientsExist) for (NDArray[] perLayer : tensors) for (NDArray t : perLayer) if (t != null) JniUtils.zeroGrad((PtNDArray) t);
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
        if (out.layout().size() != layout.size()) throw new IllegalArgumentException("gradient block has another layout");
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (ParameterLayout.Entry e : layout.entries()) {
                float[] g = tensor(e.kind(), e.layer()).getGradient().toFloatArray();
                System.arraycopy(g, 0, out.data(), e.offset(), e.size());
            }
        }
    }

    /** Logits (B, T, V). Grad mode is whatever the caller set (on inside a GradientCollector). */
    private NDArray forward(SequenceBatch batch) {
        int B = batch.batchSize(), T = batch.seqLen(), C = config.nEmbd(), H = config.nHead(), D = C / H;
        if (T > config.nPositions())
            throw new IllegalArgumentException("sequence length " + T + " exceeds the model context of " + config.nPositions());
        float eps = (float) config.layerNormEpsilon();
        Shape channels = new Shape(C);
        NDArray ids = manager.create(toLong(batch.tokens()), new Shape(B, T));
        // x[b,t] = wte[token] + wpe[t]
        NDArray x = Embedding.embedding(ids, tensor(WTE, 0), SparseFormat.DENSE).singletonOrThrow()
                .add(tensor(WPE, 0).get(new NDIndex("0:{}", T)));                   // (B, T, C)
        NDArray mask = causalMask(T);
        float scale = (float) (1.0 / Math.sqrt(D));
        for (int l = 0; l < config.nLayer(); l++) {
            NDArray h = LayerNorm.layerNorm(x, channels, tensor(LN1_W, l), tensor(LN1_B, l), eps).singletonOrThrow();
            NDList qkv = h.matMul(tensor(QKV_W, l)).add(tensor(QKV_B, l)).split(3, 2); // 3 × (B, T, C)
            NDArray q = heads(qkv.get(0), B, T, H, D), k = heads(qkv.get(1), B, T, H, D), v = heads(qkv.get(2), B, T, H, D);
            NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).add(mask).softmax(-1); // (B, H, T, T)
            NDArray y = att.matMul(v).transpose(0, 2, 1, 3).reshape(B, T, C);
            x = x.add(y.matMul(tensor(ATTN_PROJ_W, l)).add(tensor(ATTN_PROJ_B, l)));
            h = LayerNorm.layerNorm(x, channels, tensor(LN2_W, l), tensor(LN2_B, l), eps).singletonOrThrow();
            NDArray f = geluTanh(h.matMul(tensor(FC_W, l)).add(tensor(FC_B, l)));  // (B, T, 4C)
            x = x.add(f.matMul(tensor(FC_PROJ_W, l)).add(tensor(FC_PROJ_B, l)));
        }
        NDArray lnf = LayerNorm.layerNorm(x, channels, tensor(LNF_W, 0), tensor(LNF_B, 0), eps).singletonOrThrow();
        return lnf.matMul(tensor(WTE, 0).transpose());                              // tied unembedding
    }

    /** (B, T, C) → (B, H, T, D). */
    private static NDArray heads(NDArray a, int B, int T, int H, int D) {
        return a.reshape(B, T, H, D).transpose(0, 2, 1, 3);
    }

    /**
     * GPT-2's "gelu_new", written out because DJL's gelu is the exact (erf) one:
     * ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³). Computed as x·σ(2u), since ½(1 + tanh u) = σ(2u),
     * with 2u = x·(2√(2/π) + 2√(2/π)·0.044715·x²): fewer operations, and fewer tensors kept for
     * autograd, than the literal form.
     */
    private static NDArray geluTanh(NDArray x) {
        NDArray twoU = x.mul(x).mul(2 * SQRT_2_OVER_PI * 0.044715f).add(2 * SQRT_2_OVER_PI).mul(x);
        return x.mul(Activation.sigmoid(twoU));
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

    private NDArray tensor(ParameterKind kind, int layer) {
        return tensors[kind.ordinal()][Math.max(layer, 0)];
    }

    private static long[] toLong(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        return out;
    }

    /** Frees the libtorch parameters, gradients and masks. */
    @Override
    public void close() {
        manager.close();
    }
}
