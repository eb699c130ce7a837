package dev.imprint.train;

/**
 * Learning rate: linear warm-up from 0 to {@code peak} over {@code warmup} steps, then a cosine
 * decay to {@code floor} at {@code total} steps.
 */
public record Schedule(float peak, float floor, int warmup, int total) {
    public Schedule {
        if (!(peak > 0)) throw new IllegalArgumentException("peak learning rate " + peak + " must be positive");
        if (!(floor >= 0 && floor <= peak)) throw new IllegalArgumentException("final learning rate " + floor + " outside [0, " + peak + "]");
        if (warmup < 0 || total < 1 || warmup > total) throw new IllegalArgumentException("warm-up " + warmup + " and total " + total + " steps are inconsistent");
    }

    /** The learning rate of step {@code s} (0-based). */
    public float at(long s) {
        if (s < warmup) return peak * (s + 1) / warmup;
        double progress = total == warmup ? 1 : Math.min(1.0, (double) (s - warmup) / (total - warmup));
        return (float) (floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress)));
    }
}
