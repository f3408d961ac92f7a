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
        return interactive() ? new ProgressBar(err) : ProgressListener.NONE;
    }

    /**
     * Up to JDK 21 a console exists only on a terminal; from JDK 22 it may exist anyway and
     * {@code Console.isTerminal()} tells (looked up reflectively: the release is 17).
     */
    private static boolean interactive() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
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
