package dev.easel.engine.pipeline;

/**
 * What one request may ask for. The worker sets these from configuration; the defaults fit a
 * single 24 GB GPU running SD 1.5.
 *
 * @param maxSide    largest width or height in pixels
 * @param maxPixels  largest width × height
 * @param maxSteps   most denoising steps
 * @param maxImages  most images per request
 * @param maxGuidance largest guidance scale
 * @param clip        limits of the CLIP modes
 */
public record GenerationLimits(int maxSide, long maxPixels, int maxSteps, int maxImages, float maxGuidance,
                               ClipLimits clip) {

    /**
     * How many chunks of 75 tokens a weighted prompt may span: each chunk is one more run of every
     * text encoder, and "BREAK BREAK …" makes chunks without tokens.
     */
    public static final int MAX_PROMPT_CHUNKS = 4;
    /** The largest attention weight, (word:100), in size: larger ones overflow the text states (docs/job-contract.md, promptSyntax). */
    public static final float MAX_PROMPT_WEIGHT = 100f;

    /** Limits with the default CLIP limits. */
    public GenerationLimits(int maxSide, long maxPixels, int maxSteps, int maxImages, float maxGuidance) {
        this(maxSide, maxPixels, maxSteps, maxImages, maxGuidance, ClipLimits.defaults());
    }

    public static GenerationLimits defaults() {
        return new GenerationLimits(2048, 1024L * 1024, 150, 8, 30f);
    }
}
