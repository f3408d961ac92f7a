package dev.easel.engine.pipeline;

/**
 * What a request gets for the parameters it leaves out, from the model's bundle
 * ({@link StableDiffusionModel#defaults()}).
 *
 * @param width         pixels
 * @param height        pixels
 * @param steps         denoising steps
 * @param guidanceScale classifier-free guidance (≤ 1: off)
 */
public record ModelDefaults(int width, int height, int steps, float guidanceScale) {

    /** Steps for ordinary (not few-step) bundles. */
    public static final int STEPS = 30;
    /** Guidance for ordinary bundles (diffusers' 7.5). */
    public static final float GUIDANCE = 7.5f;
}
