package dev.easel.engine.pipeline;

/**
 * Pictures of the denoised estimate while a job runs, handed to {@link ProgressListener#onPreview}.
 * They never change the job's result: they read the loop's state and write their own buffers.
 *
 * @param every   a preview after every {@code every}-th step (not after the last: the result follows)
 * @param mode    how it is drawn
 * @param maxSide the longest side of a preview in pixels; bigger ones are scaled down
 */
public record PreviewOptions(int every, PreviewMode mode, int maxSide) {

    /** The longest side a preview may ask for: previews are thumbnails. */
    public static final int MAX_SIDE = 1024;
    /** Small enough to travel often, big enough to tell the composition. */
    public static final int DEFAULT_MAX_SIDE = 128;

    public PreviewOptions {
        if (every < 1) {
            throw new InvalidRequestException("previews.every", "must be at least 1, got " + every);
        }
        if (mode == null) {
            throw new InvalidRequestException("previews.mode", "must be approx or decode");
        }
        if (maxSide < 8 || maxSide > MAX_SIDE) {
            throw new InvalidRequestException("previews.maxSide", "must be 8.." + MAX_SIDE + ", got " + maxSide);
        }
    }

    /** Whether a preview follows step {@code step} (1-based) of {@code total}. */
    public boolean due(int step, int total) {
        return step < total && step % every == 0;
    }
}
