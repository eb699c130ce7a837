package dev.imprint.curvature;

import dev.imprint.model.SequenceBatch;
import dev.imprint.model.TrackedLayer;
import dev.imprint.tensor.Mat;

import java.util.Arrays;
import java.util.List;

/**
 * The tracked layers a tap or a set of factors covers, in the given order: maps a layer to its
 * slot (its position in the list) and checks what a tap receives against the layer's shape.
 */
final class LayerSlots {
    private final List<TrackedLayer> layers;
    private final int[] slotOfIndex; // TrackedLayer.index -> slot, -1 when not covered

    LayerSlots(List<TrackedLayer> layers) {
        if (layers.isEmpty()) throw new IllegalArgumentException("no tracked layers");
        this.layers = List.copyOf(layers);
        int maxIndex = layers.stream().mapToInt(TrackedLayer::index).max().orElseThrow();
        slotOfIndex = new int[maxIndex + 1];
        Arrays.fill(slotOfIndex, -1);
        for (int s = 0; s < layers.size(); s++) {
            TrackedLayer l = layers.get(s);
            if (l.index() < 0) throw new IllegalArgumentException("layer " + l.name() + " has negative index " + l.index());
            if (slotOfIndex[l.index()] >= 0) throw new IllegalArgumentException("two layers with index " + l.index());
            slotOfIndex[l.index()] = s;
        }
    }

    List<TrackedLayer> layers() {
        return layers;
    }

    int size() {
        return layers.size();
    }

    TrackedLayer get(int slot) {
        return layers.get(slot);
    }

    /** The slot of {@code layer}; it must be one of the covered layers, with the same shape. */
    int slot(TrackedLayer layer) {
        int s = layer.index() < slotOfIndex.length ? slotOfIndex[layer.index()] : -1;
        if (s < 0 || !layers.get(s).equals(layer)) throw new IllegalArgumentException("layer " + layer + " is not tracked here");
        return s;
    }

    /** The slot of {@code layer}, after checking ā (B·T, A) and Ds (B·T, P) against its shape. */
    int slot(TrackedLayer layer, SequenceBatch batch, Mat activations, Mat outputGradients) {
        int rows = batch.batchSize() * batch.seqLen();
        if (activations.rows() != rows || activations.cols() != layer.activationDim())
            throw new IllegalArgumentException(layer.name() + ": activations are " + activations.rows() + "x" + activations.cols()
                    + ", expected " + rows + "x" + layer.activationDim());
        if (outputGradients.rows() != rows || outputGradients.cols() != layer.outFeatures())
            throw new IllegalArgumentException(layer.name() + ": output gradients are " + outputGradients.rows() + "x"
                    + outputGradients.cols() + ", expected " + rows + "x" + layer.outFeatures());
        return slot(layer);
    }
}
