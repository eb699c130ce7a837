package dev.imprint.validation;

import dev.imprint.curvature.FitProgress;
import dev.imprint.curvature.Stage;
import dev.imprint.data.Progress;

/** A fit's stages shown one after another as tasks of a {@link Progress}. */
final class StageProgress implements FitProgress {
    private final Progress progress;
    private Stage stage;
    private long done;

    StageProgress(Progress progress) {
        this.progress = progress;
    }

    @Override
    public void update(Stage s, long now, long total) {
        if (s != stage) {
            if (stage != null) progress.done();
            stage = s;
            done = 0;
            progress.start("Fitting: " + s.title(), total, Progress.Unit.ITEMS);
        }
        progress.step(now - done);
        done = now;
        if (now >= total) {
            progress.done();
            stage = null;
        }
    }
}

