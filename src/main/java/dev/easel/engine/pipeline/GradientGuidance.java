package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.ClipGuidanceModel;
import dev.easel.engine.scheduler.Scheduler;

/**
 * Gradient CLIP guidance (GLIDE, Nichol et al. 2021 §2.4; diffusers' "CLIP guided stable
 * diffusion"): at every step the gradient of the CLIP loss of the decoded clean estimate moves the
 * noise prediction,
 * <pre>
 * ε' = ε + s · sqrt(1 - ᾱ) · ∇_{x_t} L,   ∇_{x_t} L ≈ ∇_{x0} L / sqrt(ᾱ)
 * </pre>
 * i.e. the clean estimate moves by {@code Δx0 = -s · (1 - ᾱ)/ᾱ · ∇_{x0} L}. The UNet's Jacobian is
 * left out (the gradient stops at x0), which spares a backward pass through the UNet; the
 * gradient of L itself comes from the bundle's gradient graph ({@link ClipGuidanceModel}). Applied
 * through {@link Scheduler#outputPerOriginal} so it works for epsilon, v and sample models and for
 * every scheduler. Allocates its buffers once per job.
 */
final class GradientGuidance implements DenoisingLoop.Steering, AutoCloseable {

    private final ClipGuidanceModel.GuidanceRun run;
    private final float scale;
    private final float scalingFactor;
    private final StageTimings.Clock clock;
    private final float[] x0;
    private final float[] decoderInput;
    private final float[] grad;

    GradientGuidance(ClipGuidanceModel model, float scale, float[] target, ModelGeometry geometry,
                     DiffusionPipeline.JobShape shape, StageTimings.Clock clock) {
        this.run = model.start(shape.channels(), shape.height(), shape.width(), target);
        this.scale = scale;
        this.scalingFactor = geometry.scalingFactor();
        this.clock = clock;
        this.x0 = new float[shape.latentSize()];
        this.decoderInput = new float[shape.perImage()];
        this.grad = new float[shape.perImage()];
    }

    @Override
    public void adjust(DenoisingLoop loop, int i, float[] latents, float[] guided) {
        Scheduler scheduler = loop.scheduler();
        DiffusionPipeline.JobShape shape = loop.shape();
        scheduler.predictOriginal(guided, i, latents, x0);
        double alphaBar = scheduler.alphaBar(i);
        // Δoutput = (d output / d x0) · Δx0, Δx0 = -s (1-ᾱ)/ᾱ ∇x0, ∇x0 = ∇latent_sample / scaling_factor.
        double factor = scheduler.outputPerOriginal(i) * -scale * (1 - alphaBar) / alphaBar / scalingFactor;
        int per = shape.perImage();
        for (int j = 0; j < shape.images(); j++) {
            for (int k = 0; k < per; k++) {
                decoderInput[k] = x0[j * per + k] / scalingFactor;
            }
            long t0 = System.nanoTime();
            run.lossAndGradient(decoderInput, 0, grad);
            clock.clip += System.nanoTime() - t0;
            for (int k = 0; k < per; k++) {
                guided[j * per + k] += (float) (factor * grad[k]);
            }
        }
    }

    @Override
    public void close() {
        run.close();
    }
}
