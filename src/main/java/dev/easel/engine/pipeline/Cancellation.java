package dev.easel.engine.pipeline;

/** Checked by the pipeline between steps; throws {@link GenerationCancelledException} to stop. */
@FunctionalInterface
public interface Cancellation {

    /** Never cancels. */
    Cancellation NONE = () -> { };

    void check();
}
