package dev.imprint.data;

/**
 * Progress of one long task at a time (building a store, hashing a corpus), so the CLI can show a
 * bar ({@link ConsoleProgress}) while library code stays silent by default ({@link #NONE}).
 * Calls come from the thread doing the work; {@code step} may be called often and must be cheap.
 */
public interface Progress {
    /** What {@code total} and {@code step} count. */
    enum Unit {
        ITEMS,
        BYTES
    }

    /** Ignores everything. */
    Progress NONE = new Progress() {
        @Override
        public void start(String task, long total, Unit unit) {}

        @Override
        public void step(long n) {}

        @Override
        public void done() {}
    };

    /** A task begins; {@code total} is its amount of work in {@code unit}s. */
    void start(String task, long total, Unit unit);

    /** {@code n} more units are done. */
    void step(long n);

    /** The task finished (also called when it failed). */
    void done();
}
