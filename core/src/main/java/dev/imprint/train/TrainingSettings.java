package dev.imprint.train;

/**
 * What a training run does. Data order and initialization depend only on {@code seed}, so a run
 * and its resumption draw the same batches.
 *
 * @param steps           optimizer steps
 * @param batchSize       sequences per step
 * @param schedule        learning rate schedule
 * @param optimizer       AdamW hyper-parameters
 * @param clipNorm        global gradient norm limit (≤ 0: no clipping)
 * @param seed            initialization, split and order
 * @param heldOutFraction share of sequences held out for evaluation (at least one when > 0)
 * @param evalEvery       steps between held-out evaluations
 * @param evalSequences   held-out sequences per evaluation (at most)
 * @param checkpointEvery steps between checkpoints
 */
public record TrainingSettings(int steps, int batchSize, Schedule schedule, AdamW.Settings optimizer, float clipNorm, long seed,
                               double heldOutFraction, int evalEvery, int evalSequences, int checkpointEvery) {
    public TrainingSettings {
        if (steps < 1) throw new IllegalArgumentException("steps " + steps + " must be at least 1");
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
        if (schedule.total() != steps) throw new IllegalArgumentException("schedule spans " + schedule.total() + " steps, training has " + steps);
        if (!(heldOutFraction >= 0 && heldOutFraction < 1)) throw new IllegalArgumentException("held-out fraction " + heldOutFraction + " outside [0, 1)");
        if (evalEvery < 1 || checkpointEvery < 1 || evalSequences < 1) throw new IllegalArgumentException("evaluation and checkpoint intervals must be at least 1");
    }
}
