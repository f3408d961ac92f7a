package dev.easel.engine.pipeline;

import dev.easel.engine.noise.BatchNoise;
import dev.easel.engine.onnx.UnetConditioning;
import dev.easel.engine.scheduler.Scheduler;

/**
 * The hand-over from an SDXL base to its refiner, as diffusers' ensemble of expert denoisers: with
 * {@code cutoff = round(T − switchAt·T)} (T = num_train_timesteps) the base takes the timesteps
 * {@code ≥ cutoff} ({@code denoising_end}) and the refiner, on a fresh scheduler of its own config
 * with the same step count, those {@code < cutoff} ({@code denoising_start}), continuing from the
 * base's latents without new noise. Guidance, seed and noise stream carry over; the refiner's own
 * text conditioning (its one encoder, aesthetic-score time ids) replaces the base's.
 */
final class Handover {

    /**
     * Where the base left the job: the latents the refiner continues in place. Previews go on with
     * the base's drawing: SDXL's refiner shares the base's latent space.
     */
    record Base(DiffusionPipeline.JobShape shape, float[] latents, BatchNoise noise, StageTimings.Clock clock,
                Previewer previews) {
    }

    private final Refiner refiner;
    private final GenerationRequest request;
    private final DiffusionPipeline pipeline;
    private final int baseEnd;
    private final int baseSteps;
    private final Scheduler scheduler;
    private final int refinerStart;
    /** The refiner's text conditioning, made before the base runs ({@link #encodeText}). */
    private UnetConditioning text;

    private Handover(Refiner refiner, GenerationRequest request, DiffusionPipeline pipeline, Indices indices) {
        this.refiner = refiner;
        this.request = request;
        this.pipeline = pipeline;
        this.baseEnd = indices.baseEnd();
        this.baseSteps = indices.baseSteps();
        this.scheduler = indices.scheduler();
        this.refinerStart = indices.refinerStart();
    }

    private record Indices(int baseEnd, int baseSteps, Scheduler scheduler, int refinerStart) {
    }

    /**
     * Splits the schedule.
     *
     * @param base  the base's scheduler, timesteps set
     * @param first the base's first timestep index (later than 0 for image-to-image)
     */
    static Handover of(Refiner refiner, Scheduler base, GenerationRequest request, DiffusionPipeline pipeline,
                       int first) {
        Scheduler second = pipeline.scheduler(request, refiner.model());
        int[] cut = cut(new Split(pipeline.model().config().scheduler().numTrainTimesteps(), refiner.switchAt(),
                request.steps(), request.image().isPresent()), base.timesteps(), second.timesteps(), first);
        return new Handover(refiner, request, pipeline, new Indices(cut[0], cut[0] - first, second, cut[1]));
    }

    /**
     * Where a hand-over cuts a schedule.
     *
     * @param trainSteps the base's num_train_timesteps
     * @param steps      the job's steps (a second-order scheduler has more timesteps)
     * @param fromImage  whether the base starts from an init image (strength can then move its first step)
     */
    record Split(int trainSteps, double switchAt, int steps, boolean fromImage) {
    }

    /**
     * The index of the base's timestep it stops before and of the refiner's it starts at, with
     * {@code cutoff = round(T − switchAt·T)}.
     *
     * @param first the base's first timestep index
     * @throws InvalidRequestException naming {@code refiner.switchAt} when the base would not
     *         denoise at all or the refiner would not run
     */
    static int[] cut(Split split, double[] baseTimesteps, double[] refinerTimesteps, int first) {
        double cutoff = Math.round(split.trainSteps() - split.switchAt() * split.trainSteps());
        int steps = split.steps();
        int end = 0;
        while (end < baseTimesteps.length && baseTimesteps[end] >= cutoff) {
            end++;
        }
        int start = refinerTimesteps.length;
        while (start > 0 && refinerTimesteps[start - 1] < cutoff) {
            start--;
        }
        if (end <= first) {
            throw new InvalidRequestException("refiner.switchAt", "hands over at timestep " + (long) cutoff
                    + ", before the base's first step (" + (long) baseTimesteps[Math.min(first, baseTimesteps.length - 1)]
                    + "): with " + steps + " steps the base would not denoise at all; raise switchAt"
                    + (split.fromImage() ? " or strength" : ""));
        }
        if (start >= refinerTimesteps.length) {
            throw new InvalidRequestException("refiner.switchAt", "hands over at timestep " + (long) cutoff
                    + ", after the last of " + steps + " steps: the refiner would not run; lower switchAt"
                    + " or add steps");
        }
        return new int[] {end, start};
    }

    Refiner refiner() {
        return refiner;
    }

    /** Index of the timestep the base stops before. */
    int baseEnd() {
        return baseEnd;
    }

    int total() {
        return baseSteps + scheduler.timesteps().length - refinerStart;
    }

    /** The base's progress, counted against the steps of both models. */
    ProgressListener baseProgress(ProgressListener progress) {
        return (step, ignored) -> progress.onStep(step, total());
    }

    /**
     * Encodes the prompts with the refiner's text encoders. Called before the base's loop: what the
     * refiner cannot take (a prompt longer than its fixed text sequence) is then refused before any
     * denoising, not after the base's share of it.
     */
    void encodeText(DiffusionPipeline.JobShape shape, StageTimings.Clock clock) {
        text = new TextConditioner(refiner.model()).condition(request, shape, clock);
    }

    /** Runs the refiner's share of the schedule on the base's latents, in place. */
    void refine(Base base, ProgressListener progress, Cancellation cancellation) {
        base.previews().continueAfter(baseSteps);
        StableDiffusionModel model = refiner.model();
        java.util.Objects.requireNonNull(text, "encodeText comes before refine");
        DiffusionPipeline.Start start = new DiffusionPipeline.Start(base.latents(), refinerStart, new float[0],
                DiffusionPipeline.AfterStep.NONE);
        DenoisingLoop.Setup setup = new DenoisingLoop.Setup(scheduler, () -> pipeline.scheduler(request, model),
                base.shape(), start, text, request.guidanceScale(), base.noise(), scheduler.timesteps().length);
        try (DenoisingLoop loop = new DenoisingLoop(refiner.unet(), setup, base.clock())) {
            loop.run(DenoisingLoop.Steering.NONE, (step, ignored) -> progress.onStep(baseSteps + step, total()),
                    cancellation, base.previews());
        }
    }
}
