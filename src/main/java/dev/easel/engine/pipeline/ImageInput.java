package dev.easel.engine.pipeline;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.RgbImage;
import java.util.Optional;

/**
 * The picture an image-to-image or inpainting request starts from.
 *
 * @param init     the starting image; its size must equal the request's width × height
 * @param mask     for inpainting: white (≥ 50%) marks what to repaint, black what to keep;
 *                 same size as {@code init}
 * @param strength how much to change, in (0, 1]: the fraction of the schedule that is run
 */
public record ImageInput(RgbImage init, Optional<GrayImage> mask, float strength) {

    public static ImageInput img2img(RgbImage init, float strength) {
        return new ImageInput(init, Optional.empty(), strength);
    }

    public static ImageInput inpaint(RgbImage init, GrayImage mask, float strength) {
        return new ImageInput(init, Optional.of(mask), strength);
    }
}
