package dev.easel.contract;

import dev.easel.engine.image.PngLimits;
import dev.easel.engine.pipeline.ClipLimits;
import dev.easel.engine.pipeline.GenerationLimits;

/**
 * The deployment's limits on a job, beyond what the job-v1 schema fixes. The worker builds this
 * from {@code easel.limits.*} configuration ({@code dev.easel.config.JobLimitsConfig}); tests
 * build it directly.
 *
 * @param maxWidth            largest width in pixels
 * @param maxHeight           largest height in pixels
 * @param maxPixels           largest width × height
 * @param maxSteps            most denoising steps
 * @param maxImages           most images per job
 * @param maxGuidance         largest guidance scale
 * @param maxPromptTokens     most CLIP tokens in a prompt or negative prompt, without the start
 *                            and end tokens (75 for CLIP's 77-token context)
 * @param maxInputImageBytes  largest initImage or mask PNG file, in bytes (decoded size, not base64)
 * @param maxInputImageWidth  largest initImage or mask width, checked from the PNG header
 * @param maxInputImageHeight largest initImage or mask height, checked from the PNG header
 * @param maxInputImagePixels largest initImage or mask width × height, checked from the PNG header
 * @param maxMetadataBytes    largest {@code metadata} object, as compact UTF-8 JSON
 * @param maxIdLength         longest {@code id}; at most the schema's 128
 * @param clip                limits of the CLIP options (rerank, verifier, clipGuidanceScale)
 */
public record JobLimits(int maxWidth, int maxHeight, long maxPixels, int maxSteps, int maxImages, double maxGuidance,
                        int maxPromptTokens, long maxInputImageBytes, int maxInputImageWidth,
                        int maxInputImageHeight, long maxInputImagePixels, int maxMetadataBytes, int maxIdLength,
                        ClipLimits clip) {

    /** The schema's ceiling on {@code id}; a deployment may only lower it. */
    public static final int SCHEMA_MAX_ID_LENGTH = 128;

    /** Limits with the default CLIP limits. */
    public JobLimits(int maxWidth, int maxHeight, long maxPixels, int maxSteps, int maxImages, double maxGuidance,
                     int maxPromptTokens, long maxInputImageBytes, int maxInputImageWidth, int maxInputImageHeight,
                     long maxInputImagePixels, int maxMetadataBytes, int maxIdLength) {
        this(maxWidth, maxHeight, maxPixels, maxSteps, maxImages, maxGuidance, maxPromptTokens, maxInputImageBytes,
                maxInputImageWidth, maxInputImageHeight, maxInputImagePixels, maxMetadataBytes, maxIdLength,
                ClipLimits.defaults());
    }

    /**
     * Most {@code metadata} a deployment may allow: it is echoed in every event of the job, and a
     * completed event must stay well within the broker's 1 MiB default record size.
     */
    public static final int MAX_METADATA_BYTES = 256 * 1024;

    public JobLimits {
        // Named one by one (the fields are not yet assigned here: printing this would show zeros).
        atLeast("easel.limits.max-width", maxWidth, 8);
        atLeast("easel.limits.max-height", maxHeight, 8);
        atLeast("easel.limits.max-pixels", maxPixels, 64);
        atLeast("easel.limits.max-steps", maxSteps, 1);
        atLeast("easel.limits.max-images", maxImages, 1);
        if (!(maxGuidance >= 0)) {
            throw new IllegalArgumentException("easel.limits.max-guidance must be ≥ 0, got " + maxGuidance);
        }
        atLeast("easel.limits.max-prompt-tokens", maxPromptTokens, 1);
        atLeast("easel.limits.max-input-image-bytes", maxInputImageBytes, 1);
        atLeast("easel.limits.max-input-image-width", maxInputImageWidth, 1);
        atLeast("easel.limits.max-input-image-height", maxInputImageHeight, 1);
        atLeast("easel.limits.max-input-image-pixels", maxInputImagePixels, 1);
        atLeast("easel.limits.max-metadata-bytes", maxMetadataBytes, 2);
        atLeast("easel.limits.max-id-length", maxIdLength, 1);
        if (maxMetadataBytes > MAX_METADATA_BYTES) {
            throw new IllegalArgumentException("easel.limits.max-metadata-bytes must be at most " + MAX_METADATA_BYTES
                    + " (it is echoed in every event of a job), got " + maxMetadataBytes);
        }
        if (maxIdLength > SCHEMA_MAX_ID_LENGTH) {
            throw new IllegalArgumentException("easel.limits.max-id-length must be at most the job schema's "
                    + SCHEMA_MAX_ID_LENGTH + ", got " + maxIdLength);
        }
    }

    private static void atLeast(String property, long value, long least) {
        if (value < least) {
            throw new IllegalArgumentException(property + " must be at least " + least + ", got " + value);
        }
    }

    /**
     * Defaults for one 24 GB GPU running SD 1.5, matching {@link GenerationLimits#defaults()}. Input
     * images must be the output's size, so their decode limits equal the output limits; 8 MiB holds
     * even an uncompressed 16-bit RGBA PNG of 1 Mpx.
     */
    public static JobLimits defaults() {
        return new JobLimits(2048, 2048, 1024L * 1024, 150, 8, 30, 75, 8L << 20, 2048, 2048, 1024L * 1024,
                16 * 1024, SCHEMA_MAX_ID_LENGTH);
    }

    /** What the engine's PNG decoder may accept for initImage and mask. */
    public PngLimits pngLimits() {
        return new PngLimits(maxInputImageWidth, maxInputImageHeight, maxInputImagePixels, maxInputImageBytes);
    }

    /** The engine's own check of the same limits (it has one side limit: the larger of width and height). */
    public GenerationLimits generationLimits() {
        return new GenerationLimits(Math.max(maxWidth, maxHeight), maxPixels, maxSteps, maxImages, (float) maxGuidance,
                clip);
    }
}
