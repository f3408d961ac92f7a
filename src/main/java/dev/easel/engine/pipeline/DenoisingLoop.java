package dev.easel.engine.pipeline;

import dev.easel.engine.noise.BatchNoise;
import dev.easel.engine.onnx.UnetConditioning;
import dev.easel.engine.onnx.UnetRun;
import dev.easel.engine.onnx.UnetStep;
import dev.easel.engine.onnx.UnetSteps;
import dev.easel.engine.scheduler.Scheduler;
import java.util.function.Supplier;

/**
 * One job's denoising loop: for each timestep, the UNet input (scaled latents for every guidance
 * branch, plus mask channels for inpainting UNets), the prediction, classifier-free guidance, the
 * scheduler step and the kept-region blend of 4-channel inpainting. CLIP {@link Steering} may adjust
 * the guided prediction (gradient guidance) or take the step itself (verifier search), for which it
 * can ask for predictions at any sample ({@link #predict}) and restart the scheduler.
 *
 * <p>Buffers are allocated once; the loop itself allocates nothing (previews, when asked, draw in their own).
 */
final class DenoisingLoop implements AutoCloseable {

    /** What CLIP may do inside the loop. */
    interface Steering {
        Steering NONE = new Steering() {
        };

        /** Adjusts the guided prediction for step {@code i} before the scheduler sees it. */
        default void adjust(DenoisingLoop loop, int i, float[] latents, float[] guided) {
        }

        /**
         * Takes step {@code i} itself, or not (false). When it does, {@code latents} are left at the
         * noise level of step {@code i + 1} and {@code guided} holds the guided prediction there.
         */
        default boolean branch(DenoisingLoop loop, int i, float[] latents, float[] guided) {
            return false;
        }
    }

    /**
     * @param scheduler  the job's scheduler, timesteps set
     * @param restart    a fresh scheduler with the same timesteps, for steering that leaves its history behind
     * @param conditioning one row per UNet batch entry (text states; SDXL's pooled text and time ids)
     * @param guidance   classifier-free guidance scale
     * @param noise      the job's noise, for stochastic schedulers
     * @param end        index of the timestep the run stops before (all of them, unless a refiner takes over)
     */
    record Setup(Scheduler scheduler, Supplier<Scheduler> restart, DiffusionPipeline.JobShape shape,
                 DiffusionPipeline.Start start, UnetConditioning conditioning, float guidance, BatchNoise noise,
                 int end) {
    }

    private final Setup setup;
    private final StageTimings.Clock clock;
    private final DiffusionPipeline.JobShape shape;
    private final int perImage;
    private final int perInput;
    /** The job's own UNet tensors, or its seat in a batch shared with other jobs. */
    private final UnetStep unet;
    /** [unetBatch, inChannels, h, w] */
    private final float[] input;
    /** [unetBatch, C, h, w] */
    private final float[] prediction;
    /** The run's timesteps (the same after a restart). */
    private final double[] timesteps;
    private Scheduler scheduler;
    /** [n, C, h, w] the clean estimate for a preview; allocated at the first one. */
    private float[] x0;

    /** @param unet the model's UNet, or the batcher in front of it */
    DenoisingLoop(UnetSteps unet, Setup setup, StageTimings.Clock clock) {
        this.setup = setup;
        this.clock = clock;
        this.shape = setup.shape();
        this.scheduler = setup.scheduler();
        this.timesteps = scheduler.timesteps();
        this.perImage = shape.perImage();
        float[] extra = setup.start().extraChannels();
        int inChannels = shape.channels() + (extra.length == 0 ? 0 : shape.channels() + 1);
        this.perInput = inChannels * shape.height() * shape.width();
        this.input = new float[shape.unetBatch() * perInput];
        this.prediction = new float[shape.unetBatch() * perImage];
        for (int b = 0; b < shape.unetBatch() && extra.length > 0; b++) {
            System.arraycopy(extra, 0, input, b * perInput + perImage, extra.length);
        }
        this.unet = unet.start(new UnetRun.Shape(shape.unetBatch(), inChannels, shape.channels(), shape.height(),
                shape.width()), setup.conditioning());
    }

    DiffusionPipeline.JobShape shape() {
        return shape;
    }

    /** The scheduler now in use. */
    Scheduler scheduler() {
        return scheduler;
    }

    /** Index of the first timestep the run takes. */
    int first() {
        return setup.start().startIndex();
    }

    /** Replaces the scheduler with a fresh one: the run goes on as if it had started at the next step. */
    void restartScheduler() {
        scheduler = setup.restart().get();
    }

    /**
     * The guided prediction at timestep {@code i} for any sample.
     *
     * @param sample [n, C, h, w]
     * @param out    [n, C, h, w], overwritten
     */
    void predict(float[] sample, int i, float[] out) {
        float scale = scheduler.scaleModelInput(i);
        for (int b = 0; b < shape.unetBatch(); b++) {
            int src = (b % shape.images()) * perImage;
            int dst = b * perInput;
            for (int k = 0; k < perImage; k++) {
                input[dst + k] = sample[src + k] * scale;
            }
        }
        long t0 = System.nanoTime();
        unet.predict(input, timesteps[i], prediction);
        clock.unet += System.nanoTime() - t0;
        if (shape.branches() == 2) {
            DiffusionPipeline.guide(prediction, out, shape.latentSize(), setup.guidance());
        } else {
            System.arraycopy(prediction, 0, out, 0, shape.latentSize());
        }
    }

    /**
     * Runs the schedule from the start index to its end, leaving the result in the start's latents.
     *
     * @param previews shown the clean estimate of the steps they are due after
     */
    void run(Steering steering, ProgressListener progress, Cancellation cancellation, Previewer previews) {
        float[] latents = setup.start().latents();
        DiffusionPipeline.AfterStep afterStep = setup.start().afterStep();
        /* [n, C, h, w]: the guided prediction */
        float[] guided = new float[shape.latentSize()];
        int count = timesteps.length;
        int end = setup.end();
        int first = first();
        boolean predicted = false;
        for (int i = first; i < end; i++) {
            cancellation.check();
            if (!predicted) {
                predict(latents, i, guided);
            }
            steering.adjust(this, i, latents, guided);
            predicted = steering.branch(this, i, latents, guided);
            int step = i - first + 1;
            if (previews.due(step)) {
                previews.show(cleanEstimate(i, latents, guided, predicted), step);
            }
            if (!predicted) {
                long t0 = System.nanoTime();
                scheduler.step(guided, i, latents, setup.noise());
                clock.scheduler += System.nanoTime() - t0;
            }
            afterStep.apply(scheduler, i + 1, count, latents);
            progress.onStep(step, end - first);
        }
    }

    /**
     * x0 (diffusers' pred_original_sample) from the prediction at the sample's noise level: step
     * {@code i}'s, or the next step's when steering has taken step {@code i} already.
     */
    private float[] cleanEstimate(int i, float[] latents, float[] guided, boolean stepped) {
        if (x0 == null) {
            x0 = new float[latents.length];
        }
        int at = stepped ? i + 1 : i;
        if (at < timesteps.length) {
            scheduler.predictOriginal(guided, at, latents, x0);
        } else {
            System.arraycopy(latents, 0, x0, 0, latents.length);
        }
        return x0;
    }

    /** The run's timesteps; do not modify. */
    double[] timesteps() {
        return timesteps;
    }

    /** The job's noise source. */
    BatchNoise noise() {
        return setup.noise();
    }

    @Override
    public void close() {
        unet.close();
    }
}
