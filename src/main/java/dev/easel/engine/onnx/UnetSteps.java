package dev.easel.engine.onnx;

/** Where a job's denoising loop gets its {@link UnetStep}: the UNet itself, or a batcher in front of it. */
@FunctionalInterface
public interface UnetSteps {

    /**
     * Opens one job's UNet steps; the job closes it when its loop ends.
     *
     * @param shape        the job's UNet batch and latent geometry
     * @param conditioning one row per UNet batch entry
     */
    UnetStep start(UnetRun.Shape shape, UnetConditioning conditioning);
}
