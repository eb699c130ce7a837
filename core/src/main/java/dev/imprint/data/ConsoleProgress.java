package dev.imprint.data;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/** {@link Progress} as a text progress bar (me.tongfei progressbar) on standard error. */
public final class ConsoleProgress implements Progress {
    private final PrintStream out;
    private ProgressBar bar; // the running task's bar, null between tasks

    public ConsoleProgress() {
        this(System.err);
    }

    public ConsoleProgress(PrintStream out) {
        this.out = out;
    }

    @Override
    public void start(String task, long total, Unit unit) {
        done();
        ProgressBarBuilder builder = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .showSpeed();
        if (unit == Unit.BYTES) builder.setUnit(" MiB", 1L << 20);
        bar = builder.build();
    }

    @Override
    public void step(long n) {
        if (bar != null) bar.stepBy(n);
    }

    @Override
    public void done() {
        if (bar != null) {
            bar.close();
            out.println(); // the console consumer leaves the bar's line open
            bar = null;
        }
    }
}
