package dev.imprint.cli;

import dev.imprint.InputException;
import dev.imprint.io.OutputSet;
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
        ResultsJson.read(dir); // a damaged results.json is named where it is, before anything is staged
        try (OutputSet set = OutputSet.open(dir, "report", DemoCommand.RESULT_FILES)) {
            set.keepAllBut(HtmlReport.FILE);
            write(set.staging());
            set.commit();
        }
        System.out.println("report: " + dir.resolve(HtmlReport.FILE));
        return 0;
    }

    /** Writes the report into {@code dir} (a staging folder), turning an unreadable results.json into a one-line error. */
    static Path write(Path dir) {
        try {
            return HtmlReport.write(dir);
        } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
            throw new InputException(dir.resolve(ResultsJson.FILE) + ": " + e.getMessage(), e);
        }
    }
}
