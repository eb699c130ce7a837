package dev.imprint.model;

/** Placeholder until the HF config reader lands: the GPT-2 shape. */
public record GPT2Config(int nLayer, int nHead, int nEmbd, int vocabSize, int nPositions, float layerNormEpsilon) {
    public int headDim() {
        return nEmbd / nHead;
    }
}
