package dev.imprint;

/**
 * A problem with what the user supplied (a file, a flag, a configuration), as opposed to a bug.
 * The message is one line that names the input and the problem; the CLI prints it without a stack
 * trace and exits with {@link #exitCode()}: {@value #INVALID} for an invalid or malformed input
 * (and, from the CLI, a bad flag), {@value #NOT_FOUND} for a missing file or folder,
 * {@value #MISMATCH} for outputs written with other arguments (a fingerprint mismatch),
 * {@value #OUT_OF_MEMORY} for work that will not fit the Java heap, {@value #BUSY} for an output
 * folder another run is writing.
 */
public class InputException extends RuntimeException {
    public static final int INVALID = 2, NOT_FOUND = 3, MISMATCH = 4, OUT_OF_MEMORY = 5, BUSY = 6;
    private final int exitCode;

    public InputException(String message) {
        this(message, INVALID, null);
    }

    public InputException(String message, Throwable cause) {
        this(message, INVALID, cause);
    }

    /** A file or folder the user named does not exist. */
    public static InputException notFound(String message) {
        return new InputException(message, NOT_FOUND, null);
    }

    /** Existing outputs were made with other arguments (their fingerprint differs). */
    public static InputException mismatch(String message) {
        return new InputException(message, MISMATCH, null);
    }

    /** The work would not fit the Java heap: refused before it starts. */
    public static InputException outOfMemory(String message) {
        return new InputException(message, OUT_OF_MEMORY, null);
    }

    /** Another run holds the output folder's lock. */
    public static InputException busy(String message) {
        return new InputException(message, BUSY, null);
    }

    protected InputException(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** The process exit code the CLI uses for this kind of mistake. */
    public int exitCode() {
        return exitCode;
    }
}
