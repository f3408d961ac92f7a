package dev.easel.cli;

import dev.easel.engine.pipeline.ProgressListener;
import java.io.PrintWriter;

/** A one-line progress bar on an interactive terminal; silent when output is redirected. */
final class ProgressBar implements ProgressListener {

    private static final int WIDTH = 30;
    private final PrintWriter out;

    private ProgressBar(PrintWriter out) {
        this.out = out;
    }

    static ProgressListener forTerminal(PrintWriter err) {
        return System.console() != null ? new ProgressBar(err) : ProgressListener.NONE;
    }

    @Override
    public void onStep(int step, int total) {
        int filled = step * WIDTH / total;
        out.print("\r[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + step + "/" + total);
        if (step == total) {
            out.println();
        }
        out.flush();
    }
}
