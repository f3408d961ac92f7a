package dev.easel.engine.pipeline;

/** Told after every denoising step. Called on the generating thread: keep it cheap. */
@FunctionalInterface
public interface ProgressListener {

    ProgressListener NONE = (step, total) -> { };

    /** @param step steps done so far (1-based), @param total steps this run will take */
    void onStep(int step, int total);

    /**
     * A preview picture, when the request asked for them ({@link GenerationRequest#previews()});
     * called on the generating thread between two steps: hand it on, do not work on it here.
     */
    default void onPreview(Preview preview) {
    }
}
