package dev.imprint.cli;

import dev.imprint.InputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The {@code imprint} command line. Exit codes: 0 success; for a user mistake, one line and 2 (a bad
 * flag, an invalid or malformed input), 3 (a missing file or folder) or 4 (outputs made with other
 * arguments: a fingerprint mismatch); 5 the Java heap ran out (one line naming IMPRINT_HEAP); 6 the
 * output folder is being written by another run (one line naming it); 1 an internal error (a bug:
 * printed with its trace).
 */
@Command(name = "imprint", mixinStandardHelpOptions = true, version = "imprint 0.1.0",
        description = "Which training documents made this language model say that? Influence functions (EK-FAC) for GPT-2-family models.",
        subcommands = {DemoCommand.class, CorpusCommand.class, TrainCommand.class, InitCommand.class, FitCommand.class, IndexCommand.class, QueryCommand.class, SelfInfluenceCommand.class, ValidateCommand.class, ReportCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Run 'imprint COMMAND --help' for a command's options and examples.",
                "'bin/imprint bench' runs the speed comparison against libtorch."})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Default cache folder: $IMPRINT_CACHE, else ~/.cache/imprint. */
    static Path defaultCache() {
        String env = System.getenv("IMPRINT_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "imprint");
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("imprint: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            Throwable t = ex;
            while (t != null && !(t instanceof InputException)) t = t.getCause();
            if (t instanceof InputException ie) {
                c.getErr().println("imprint: " + Terminal.line(ie.getMessage()));
                return ie.exitCode();
            }
            if (ex instanceof UncheckedIOException io) {
                c.getErr().println("imprint: " + Terminal.line(io.getMessage()));
                return 2;
            }
            throw ex;
        });
        return cl.execute(args);
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (OutOfMemoryError e) {
            // the heap is a setting, not a bug: say how to raise it (outputs are written atomically, so nothing is half-written)
            System.err.printf("imprint: out of memory with a %d MiB Java heap; give it more with IMPRINT_HEAP (e.g. IMPRINT_HEAP=8g)%n",
                    Runtime.getRuntime().maxMemory() >> 20);
            code = InputException.OUT_OF_MEMORY;
        }
        System.exit(code);
    }
}
