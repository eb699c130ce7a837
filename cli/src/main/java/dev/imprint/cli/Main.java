package dev.imprint.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code imprint} command line: one subcommand per stage of the pipeline. */
@Command(name = "imprint", mixinStandardHelpOptions = true, version = "imprint 0.1.0",
        description = "Influence functions (EK-FAC) for transformer language models.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
