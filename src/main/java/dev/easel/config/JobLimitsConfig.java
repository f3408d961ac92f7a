package dev.easel.config;

import dev.easel.engine.pipeline.ClipLimits;
import dev.easel.contract.JobLimits;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * {@code easel.limits.*}: what one job may ask for on this deployment. The defaults fit one 24 GB
 * GPU running SD 1.5 and equal {@link JobLimits#defaults()}; docs/job-contract.md lists them.
 */
@ConfigMapping(prefix = "easel.limits")
public interface JobLimitsConfig {

    /** {@code easel.limits.max-width}: largest {@code width} in pixels. */
    @WithDefault("2048")
    int maxWidth();

    /** {@code easel.limits.max-height}: largest {@code height} in pixels. */
    @WithDefault("2048")
    int maxHeight();

    /** {@code easel.limits.max-pixels}: largest width × height (1024² by default). */
    @WithDefault("1048576")
    long maxPixels();

    /** {@code easel.limits.max-steps}: most denoising {@code steps}. */
    @WithDefault("150")
    int maxSteps();

    /** {@code easel.limits.max-images}: most images per job ({@code numImages}). */
    @WithDefault("8")
    int maxImages();

    /** {@code easel.limits.max-guidance}: largest {@code guidanceScale}. */
    @WithDefault("30")
    double maxGuidance();

    /**
     * {@code easel.limits.max-prompt-tokens}: most CLIP tokens in {@code prompt} or
     * {@code negativePrompt}, without start and end tokens; 75 is CLIP's 77-token context. Checked
     * only where the worker gives the parser its model's tokenizer.
     */
    @WithDefault("75")
    int maxPromptTokens();

    /** {@code easel.limits.max-input-image-bytes}: largest initImage or mask PNG file (8 MiB by default). */
    @WithDefault("8388608")
    long maxInputImageBytes();

    /** {@code easel.limits.max-input-image-width}: largest initImage or mask width, read from the PNG header. */
    @WithDefault("2048")
    int maxInputImageWidth();

    /** {@code easel.limits.max-input-image-height}: largest initImage or mask height, read from the PNG header. */
    @WithDefault("2048")
    int maxInputImageHeight();

    /** {@code easel.limits.max-input-image-pixels}: largest initImage or mask width × height. */
    @WithDefault("1048576")
    long maxInputImagePixels();

    /** {@code easel.limits.max-metadata-bytes}: largest {@code metadata} object as compact UTF-8 JSON. */
    @WithDefault("16384")
    int maxMetadataBytes();

    /** {@code easel.limits.max-id-length}: longest {@code id}; at most 128, the schema's ceiling. */
    @WithDefault("128")
    int maxIdLength();

    /** {@code easel.limits.clip.*}: the CLIP options (docs/clip.md). */
    Clip clip();

    /** Limits of the CLIP options, each of which multiplies a job's work. */
    interface Clip {

        /** {@code easel.limits.clip.max-rerank-candidates}: most {@code rerank.candidates} (generated together). Default 16. */
        @WithDefault("16")
        int maxRerankCandidates();

        /**
         * {@code easel.limits.clip.max-verifier-evaluations}: most verifier branches × branch points per
         * image (each a UNet pass, a VAE decode and a CLIP embedding). Default 64.
         */
        @WithDefault("64")
        int maxVerifierEvaluations();

        /** {@code easel.limits.clip.max-guidance-scale}: largest {@code clipGuidanceScale}. Default 1000. */
        @WithDefault("1000")
        float maxGuidanceScale();
    }

    /** The plain limits object {@code dev.easel.job} takes. */
    default JobLimits toJobLimits() {
        return new JobLimits(maxWidth(), maxHeight(), maxPixels(), maxSteps(), maxImages(), maxGuidance(),
                maxPromptTokens(), maxInputImageBytes(), maxInputImageWidth(), maxInputImageHeight(),
                maxInputImagePixels(), maxMetadataBytes(), maxIdLength(), new ClipLimits(clip().maxRerankCandidates(),
                        clip().maxVerifierEvaluations(), clip().maxGuidanceScale()));
    }
}
