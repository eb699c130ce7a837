package dev.imprint.curvature;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.model.TrackedLayer;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Everything fitted factors depend on (Kronfluence's {@code factor_arguments.json}): rerunning a
 * stage with the same arguments reproduces its output, so a stage whose output carries this
 * fingerprint is skipped, and a directory fitted with other arguments is refused by name.
 * The damping and the strategy are not among them: they are applied when preconditioning, and
 * K-FAC and EK-FAC share the covariance and eigendecomposition stages.
 *
 * @param modelFingerprint identifies the model weights and architecture (computed by the model side)
 * @param storeFingerprint identifies the training-sequence store the fitting set is drawn from
 * @param fittingSequences N, the number of fitting sequences each pass must deliver
 * @param seed             seed of the fitting-set sample and of the sampled labels
 * @param layers           the tracked layers, in forward order
 * @param factorBlocks     O, the diagonal blocks each Kronecker factor is split into (method §3; 1: dense)
 */
public record FactorArguments(String modelFingerprint, String storeFingerprint, int fittingSequences, long seed, List<TrackedLayer> layers,
                              int factorBlocks) {
    private static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    public FactorArguments {
        Objects.requireNonNull(modelFingerprint, "modelFingerprint");
        Objects.requireNonNull(storeFingerprint, "storeFingerprint");
        if (fittingSequences < 1) throw new IllegalArgumentException("illegal fitting sequence count " + fittingSequences + ": must be at least 1");
        if (layers.isEmpty()) throw new IllegalArgumentException("no tracked layers");
        layers = List.copyOf(layers);
        String problem = blocksProblem(layers, factorBlocks);
        if (problem != null) throw new IllegalArgumentException(problem);
    }

    /** Why {@code blocks} diagonal blocks cannot split every factor of {@code layers} (each block needs an index), or null. */
    public static String blocksProblem(List<TrackedLayer> layers, int blocks) {
        if (blocks < 1) return "illegal factor block count " + blocks + ": must be at least 1";
        for (TrackedLayer l : layers)
            if (blocks > Math.min(l.activationDim(), l.outFeatures()))
                return blocks + " factor blocks for layer " + l.name() + " of " + l.outFeatures() + "x" + l.activationDim()
                        + ": at most " + Math.min(l.activationDim(), l.outFeatures());
        for (TrackedLayer l : layers)
            for (int dim : new int[]{l.activationDim(), l.outFeatures()}) {
                long packed = new Blocks(dim, blocks).packedLength();
                if (packed > Integer.MAX_VALUE - 8)
                    return "layer " + l.name() + ": a factor of dimension " + dim + " in " + blocks + " block(s) has " + packed
                            + " values, more than one Java array holds; use more --factor-blocks";
            }
        return null;
    }

    /** Dense factors (one block each). */
    public FactorArguments(String modelFingerprint, String storeFingerprint, int fittingSequences, long seed, List<TrackedLayer> layers) {
        this(modelFingerprint, storeFingerprint, fittingSequences, seed, layers, 1);
    }

    /**
     * The arguments as a JSON object with snake_case keys, in component order — built by parsing
     * the serialized text, so that its nodes compare equal to the same file read back.
     */
    ObjectNode json() {
        try {
            return (ObjectNode) JSON.readTree(JSON.writeValueAsString(this));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 (hex) of {@link #json()}: the model fingerprint, the store fingerprint and the settings. */
    public String fingerprint() {
        try {
            byte[] canonical = JSON.writeValueAsString(json()).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectMapper mapper() {
        return JSON;
    }
}
