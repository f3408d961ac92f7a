package dev.easel.engine.pipeline;

/**
 * One preview picture: the job's images (side by side when several) as they would look if denoising ended after
 * {@code step} (its clean estimate x0), as a small PNG.
 *
 * @param step  steps done (1-based), counted as {@link ProgressListener#onStep} counts them
 * @param total steps of the whole run
 */
public record Preview(int step, int total, PreviewMode mode, int width, int height, byte[] png) {
}
