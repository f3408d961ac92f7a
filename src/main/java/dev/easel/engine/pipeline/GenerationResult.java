package dev.easel.engine.pipeline;

import java.util.List;

/**
 * @param images       one per requested image, in order
 * @param finalLatents the denoised latents before VAE scaling, [numImages, C, h, w]
 * @param timings      where the time went
 */
public record GenerationResult(List<GeneratedImage> images, float[] finalLatents, StageTimings timings) {
}
