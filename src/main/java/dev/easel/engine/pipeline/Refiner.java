package dev.easel.engine.pipeline;

/**
 * An SDXL refiner run after the base on the same latents (diffusers' ensemble of expert denoisers:
 * the base's {@code denoising_end} = the refiner's {@code denoising_start} = {@code switchAt}).
 *
 * @param model    the loaded refiner bundle
 * @param switchAt fraction of the schedule, in (0, 1), after which the refiner takes over
 */
public record Refiner(StableDiffusionModel model, double switchAt) {
}
