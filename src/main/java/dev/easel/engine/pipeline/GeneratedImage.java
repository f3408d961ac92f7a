package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;
import java.util.OptionalDouble;

/**
 * One output image and the seed that reproduces it alone ({@code numImages = 1}; with reranking,
 * the seed of the candidate that was kept).
 *
 * @param clipScore CLIPScore (100 × max(cosine, 0) between the image's and the prompt's CLIP
 *                  embeddings) when the request used CLIP
 */
public record GeneratedImage(RgbImage image, long seed, OptionalDouble clipScore) {

    public GeneratedImage(RgbImage image, long seed) {
        this(image, seed, OptionalDouble.empty());
    }
}
