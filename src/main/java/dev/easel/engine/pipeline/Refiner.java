package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.UnetSteps;

/**
 * An SDXL refiner run after the base on the same latents (diffusers' ensemble of expert denoisers:
 * the base's {@code denoising_end} = the refiner's {@code denoising_start} = {@code switchAt}).
 *
 * @param model    the loaded refiner bundle
 * @param switchAt fraction of the schedule, in (0, 1), after which the refiner takes over
 * @param unet     where the refiner's steps run: its own UNet, or the batcher of the refiner's
 *                 pipeline, so that jobs handing over at once share its runs as the base's steps do
 */
public record Refiner(StableDiffusionModel model, double switchAt, UnetSteps unet) {

    /** A refiner whose steps run on its own UNet, one job at a time. */
    public Refiner(StableDiffusionModel model, double switchAt) {
        this(model, switchAt, model.unet());
    }
}
