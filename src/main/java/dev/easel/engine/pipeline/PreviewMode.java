package dev.easel.engine.pipeline;

import java.util.Locale;

/** How a denoising preview is drawn from the current clean estimate x0. */
public enum PreviewMode {
    /** A per-channel linear map of the latents to RGB ({@link LatentRgb}): no model run, latent resolution. */
    APPROX,
    /** The VAE decoder on x0: the picture as it would end now, at the cost of one decode. */
    DECODE;

    /** As the job contract spells it: {@code approx}, {@code decode}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException for a name that is no mode */
    public static PreviewMode of(String name) {
        for (PreviewMode mode : values()) {
            if (mode.wireName().equals(name)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("previews.mode: must be approx or decode, got \"" + name + "\"");
    }
}
