package dev.imprint;

/**
 * A problem with what the user supplied (a file, a flag, a configuration), as opposed to a bug.
 * The message is one line that names the input and the problem; the CLI prints it without a stack
 * trace and exits with {@link #exitCode()}.
 */
public class InputException extends RuntimeException {
    private final int exitCode;

    public InputException(String message) {
        this(message, 2, null);
    }

    public InputException(String message, Throwable cause) {
        this(message, 2, cause);
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
