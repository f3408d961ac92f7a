package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;

/** One output image and the seed that reproduces it alone ({@code numImages = 1}). */
public record GeneratedImage(RgbImage image, long seed) {
}
