package dev.imprint.model;

import dev.imprint.tensor.Mat;

import java.util.List;

/**
 * What every stage of Imprint needs from a causal language model (method §1–§2): forward a batch,
 * read log-probabilities or the summed loss of targets, draw targets from the model's own
 * distribution, and backpropagate with a {@link GradientTap} that receives every tracked layer's
 * ā_t and Ds_t. Curvature fitting, eigenvalue correction, scoring and training all use this and
 * nothing else.
 *
 * <p>Use: {@link #forward} a batch, then read {@link #loss}/{@link #logProbs} or draw
 * {@link #sampleTargets}, then optionally {@link #backward} once: it consumes the logits.
 * Implementations are not thread-safe: one instance per thread of control.
 */
public interface LanguageModel {
    ModelConfig config();

    Parameters parameters();

    /** The layers whose ā and Ds reach taps, in forward order, named by their Hugging Face module paths. */
    List<TrackedLayer> trackedLayers();

    /** Bytes of what forward keeps for backward, and backward's scratch, for a (batchSize, seqLen) batch. */
    long activationBytes(int batchSize, int seqLen);

    /** Runs the forward pass; keeps what backward needs and the logits (BT, V). */
    void forward(SequenceBatch batch);

    /** The logits (BT, V) of the last forward; valid until backward. */
    Mat logits();

    /** Per position log p(target) (BT); 0 where the weight is 0. */
    float[] logProbs(Targets targets);

    /** The summed loss L = −Σ_r w_r log p(target_r) (method §1: a sum, not a mean), in double. */
    default double loss(Targets targets) {
        float[] lp = logProbs(targets);
        double s = 0;
        for (int r = 0; r < lp.length; r++) s -= (double) targets.weights()[r] * lp[r];
        return s;
    }

    /**
     * Labels drawn from the model's own softmax at every position the training loss has a term for,
     * the last real token of each sequence excluded as in {@link Targets#nextTokens} (method §3: the
     * Fisher needs sampled labels, not the true ones). Position t of batch row b is drawn with a generator seeded
     * by (seed, sequenceIds[b], t) alone, so neither the thread count, nor the batch size, nor the
     * padded length changes a sequence's labels.
     *
     * @param sequenceIds (B) a stable id of each sequence of the batch, e.g. its index in the store
     */
    Targets sampleTargets(long seed, long[] sequenceIds);

    /** Backward with taps only (no parameter gradients): what curvature and scoring passes need. */
    default void backward(Targets targets, GradientTap tap) {
        backward(targets, tap, null);
    }

    /**
     * Backpropagates the summed loss of {@code targets} from the last forward. Every tracked layer's
     * ā and Ds go to {@code tap} (may be null); parameter gradients are accumulated (+=) into
     * {@code grads} when it is not null. Consumes the logits.
     */
    void backward(Targets targets, GradientTap tap, Parameters grads);
}
