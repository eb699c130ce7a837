package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.report.HtmlReport;
import dev.imprint.report.ResultsJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code imprint report RESULTS_DIR}: (re)writes the HTML report from results.json. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write RESULTS_DIR/report.html (one self-contained file) from RESULTS_DIR/results.json.",
        footer = {"", "Example:", "  imprint report results/"})
final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RESULTS_DIR", description = "A folder written by 'imprint query' or 'imprint demo'.")
    Path dir;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(dir.resolve(ResultsJson.FILE)))
            throw InputException.notFound(dir + ": no " + ResultsJson.FILE + " here (write one with 'imprint query')");
        System.out.println("report: " + write(dir));
        return 0;
    }

    /** Writes the report, turning an unreadable results.json into a one-line error. */
    static Path write(Path dir) {
        try {
            return HtmlReport.write(dir);
        } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
            throw new InputException(dir.resolve(ResultsJson.FILE) + ": " + e.getMessage(), e);
        }
    }
}
