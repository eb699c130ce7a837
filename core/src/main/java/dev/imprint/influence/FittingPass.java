package dev.imprint.influence;

import dev.imprint.curvature.TapPass;
import dev.imprint.data.SequenceSource;
import dev.imprint.model.LanguageModel;
import dev.imprint.model.GradientTap;
import dev.imprint.model.SequenceBatch;
import dev.imprint.model.Targets;

import java.util.Arrays;

/**
 * The model's side of curvature fitting (method §3): one pass over the fitting sequences in fixed
 * batches, each forwarded, given labels, and backpropagated into the curvature stage's tap.
 * Labels are sampled from the model's softmax (the Fisher / Gauss-Newton Hessian), seeded by
 * (seed, sequence index, position) so every pass, batch size and padded length draws the same labels; or, for comparison, the
 * true next tokens (the "empirical Fisher").
 *
 * @param model     the model (its tracked layers are the ones fitted)
 * @param source    the training sequences
 * @param sequences the fitting set, as indices into {@code source}
 * @param batchSize sequences per forward/backward
 * @param seed      label sampling seed
 * @param labels    sampled (default) or true labels
 */
public record FittingPass(LanguageModel model, SequenceSource source, int[] sequences, int batchSize, long seed, Labels labels) implements TapPass {
    /** Which targets the curvature passes backpropagate. */
    public enum Labels {
        /** ŷ_t drawn from softmax(logits_t): the true Fisher, as the paper prescribes. */
        SAMPLED,
        /** The corpus' next tokens: the empirical Fisher, for comparison only. */
        TRUE;

        /**
         * What the factors record of the labels (part of their model fingerprint): the choice and the
         * positions they are drawn at, {@code "sampled|targets=loss"} for labels only where the
         * training loss has a term. Factors fitted before (their sampled labels also at each
         * sequence's last token) record {@code "sampled"} alone, and are refused.
         */
        public String recorded() {
            return name().toLowerCase() + "|targets=loss";
        }

        /** The choice a {@code --labels} value names (sampled or true); one line otherwise. */
        public static Labels named(String name) {
            return switch (name) {
                case "sampled" -> SAMPLED;
                case "true" -> TRUE;
                default -> throw new dev.imprint.InputException("--labels must be sampled or true, not '" + name + "'");
            };
        }
    }

    public FittingPass {
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
        if (sequences.length < 1) throw new IllegalArgumentException("empty fitting set");
    }

    @Override
    public void run(GradientTap tap) {
        for (int from = 0; from < sequences.length; from += batchSize) {
            int[] idx = Arrays.copyOfRange(sequences, from, Math.min(sequences.length, from + batchSize));
            SequenceBatch batch = source.batch(idx);
            model.forward(batch);
            Targets targets = labels == Labels.SAMPLED
                    ? model.sampleTargets(seed, Arrays.stream(idx).asLongStream().toArray())
                    : Targets.nextTokens(batch);
            model.backward(targets, tap);
        }
    }
}
