package dev.imprint.model;

/**
 * What the loss predicts at every position of a {@link SequenceBatch}: the loss is
 * L = −Σ_{b,t} weights[b·T+t] · log p(tokens[b·T+t] | sequence b up to position t), a sum, not a
 * mean (method §1). A weight of 0 means "no loss here" (padding, prompt positions, the last token).
 *
 * @param tokens  (B·T) target token ids
 * @param weights (B·T) loss weights, usually 0 or 1
 */
public record Targets(int[] tokens, float[] weights) {
    public Targets {
        if (tokens.length != weights.length)
            throw new IllegalArgumentException("targets has " + tokens.length + " tokens but " + weights.length + " weights");
    }

    /** Next-token prediction with the true labels: position t predicts token t+1 of its sequence. */
    public static Targets nextTokens(SequenceBatch batch) {
        int bt = batch.batchSize() * batch.seqLen(), T = batch.seqLen();
        int[] tok = new int[bt];
        float[] w = new float[bt];
        for (int b = 0; b < batch.batchSize(); b++) {
            for (int t = 0; t + 1 < batch.lengths()[b]; t++) {
                tok[b * T + t] = batch.tokens()[b * T + t + 1];
                w[b * T + t] = 1f;
            }
        }
        return new Targets(tok, w);
    }

    /**
     * The query measurement's targets (method §1): only positions whose next token belongs to the
     * completion carry loss. Sequence b's completion is its last {@code completionLengths[b]} tokens.
     */
    public static Targets completion(SequenceBatch batch, int[] completionLengths) {
        Targets all = nextTokens(batch);
        int T = batch.seqLen();
        for (int b = 0; b < batch.batchSize(); b++) {
            int len = batch.lengths()[b], c = completionLengths[b];
            if (c < 1 || c >= len)
                throw new IllegalArgumentException("completion of " + c + " tokens in a sequence of " + len + " (the prompt needs at least one token)");
            // position t predicts token t+1, which is in the completion when t+1 >= len - c
            for (int t = 0; t < len - c - 1; t++) all.weights[b * T + t] = 0f;
        }
        return all;
    }
}
