package dev.easel.engine.pipeline;

import java.util.List;

/**
 * @param images       one per requested image, in order (best first when reranked)
 * @param finalLatents the denoised latents before VAE scaling, [numImages, C, h, w]
 * @param timings      where the time went
 * @param objective    per image, what CLIP selection maximised (the cosine to the prompt, or an edit's
 *                     directional cosine); empty when the request used no CLIP
 */
public record GenerationResult(List<GeneratedImage> images, float[] finalLatents, StageTimings timings,
                               double[] objective) {

    public GenerationResult(List<GeneratedImage> images, float[] finalLatents, StageTimings timings) {
        this(images, finalLatents, timings, new double[0]);
    }
}
