package dev.imprint.curvature;

/** Progress of {@link FactorFitter}: sequences for a pass, layers for the eigendecomposition. */
@FunctionalInterface
public interface FitProgress {
    /** Silence. */
    FitProgress NONE = (stage, done, total) -> {};

    /** {@code done} of {@code total} units of {@code stage} are finished. */
    void update(Stage stage, long done, long total);

    /** {@code stage}'s output was already on disk with matching arguments, so it is not rerun. */
    default void reused(Stage stage) {}

    /** {@code stage}'s files are there but cannot be used ({@code problem} names the file and why): it is fitted again. */
    default void refitting(Stage stage, String problem) {}
}
