package dev.easel.engine.pipeline;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.ImageTensors;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.noise.BatchNoise;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.onnx.UnetConditioning;
import dev.easel.engine.onnx.UnetSteps;
import dev.easel.engine.onnx.VaeDecoder;
import dev.easel.engine.onnx.VaeEncoder;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Latent diffusion, end to end: prompt → tokens → text embeddings → the denoising loop (scheduler
 * ↔ UNet, with classifier-free guidance) → VAE decoder → pixels. Text-to-image, image-to-image and
 * inpainting (9-channel inpainting UNets, and mask blending for ordinary 4-channel UNets) share
 * the one loop in {@link #denoise}.
 *
 * <p>Thread-safe: all per-job state (scheduler, noise, buffers) lives in the call. Buffers are
 * allocated once per job; the loop itself allocates nothing. With batching on, the jobs that run at
 * once share UNet runs through the pipeline's {@link UnetBatcher}; everything else stays per job.
 */
public final class DiffusionPipeline {

    private final StableDiffusionModel model;
    private final GenerationLimits limits;

    /** Where the base model's denoising loops get their UNet steps: the UNet itself, or its batcher. */
    private final UnetSteps unet;
    private final Optional<UnetBatcher> batcher;

    /** A pipeline whose jobs each run their own UNet (no batching). */
    public DiffusionPipeline(StableDiffusionModel model, GenerationLimits limits) {
        this(model, limits, UnetBatcher.Settings.OFF);
    }

    /**
     * A pipeline whose concurrent jobs share UNet runs as {@code batching} allows (an SDXL refiner
     * stage shares the runs of its own pipeline's batcher: {@link #asRefiner}).
     */
    public DiffusionPipeline(StableDiffusionModel model, GenerationLimits limits, UnetBatcher.Settings batching) {
        this.model = model;
        this.limits = limits;
        this.batcher = batching.on() ? Optional.of(new UnetBatcher(model.unet(), batching)) : Optional.empty();
        this.unet = batcher.<UnetSteps>map(b -> b).orElse(model.unet());
    }

    /** The batcher the pipeline's jobs share UNet runs through; empty when batching is off. */
    public Optional<UnetBatcher> batcher() {
        return batcher;
    }

    public StableDiffusionModel model() {
        return model;
    }

    /**
     * This pipeline's model as another's refiner, its steps run where this pipeline runs its own:
     * through its batcher when batching is on, so refiner stages of concurrent jobs share runs.
     */
    public Refiner asRefiner(double switchAt) {
        return new Refiner(model, switchAt, unet);
    }

    /** Generates the request's images; see {@link GenerationRequest} for every option. */
    public GenerationResult generate(GenerationRequest request, ProgressListener progress, Cancellation cancellation) {
        RequestValidator.validate(request, model.geometry(), limits);
        if (request.clip().active()) {
            model.clip(request.clip().edit().isPresent() ? "edit" : "clip");
        }
        if (request.clip().rerankCandidates().isPresent()) {
            return rerank(request, progress, cancellation);
        }
        return run(request, progress, cancellation);
    }

    /**
     * Best-of-N (DALL·E's reranking, Ramesh et al. 2021): the candidates are generated together
     * (seeds seed … seed + N − 1) and the request's numImages with the best CLIP objective are kept,
     * best first, each with the seed that reproduces it.
     */
    private GenerationResult rerank(GenerationRequest request, ProgressListener progress, Cancellation cancellation) {
        int candidates = request.clip().rerankCandidates().getAsInt();
        GenerationResult all = run(request.candidates(candidates), progress, cancellation);
        Integer[] order = new Integer[candidates];
        for (int j = 0; j < candidates; j++) {
            order[j] = j;
        }
        double[] objective = all.objective();
        java.util.Arrays.sort(order, (a, b) -> Double.compare(objective[b], objective[a]));
        int keep = request.numImages();
        int per = all.finalLatents().length / candidates;
        float[] latents = new float[keep * per];
        List<GeneratedImage> kept = new ArrayList<>(keep);
        double[] keptObjective = new double[keep];
        for (int r = 0; r < keep; r++) {
            kept.add(all.images().get(order[r]));
            System.arraycopy(all.finalLatents(), order[r] * per, latents, r * per, per);
            keptObjective[r] = objective[order[r]];
        }
        return new GenerationResult(kept, latents, all.timings(), keptObjective);
    }

    private GenerationResult run(GenerationRequest request, ProgressListener progress, Cancellation cancellation) {
        StageTimings.Clock clock = new StageTimings.Clock();
        ModelGeometry g = model.geometry();
        Scheduler scheduler = scheduler(request, model);
        JobShape shape = new JobShape(request.numImages(), g.latentChannels(), request.height() / g.vaeScaleFactor(),
                request.width() / g.vaeScaleFactor(), request.guided() ? 2 : 1);

        UnetConditioning text = new TextConditioner(model).condition(request, shape, clock);
        BatchNoise noise = BatchNoise.seeded(request.seed(), shape.images(), shape.perImage());
        // Always draw the seeded start noise so the step noise that follows is the same with or
        // without supplied noise: supplying the seeded noise reproduces the seeded run exactly.
        float[] initialNoise = new float[shape.latentSize()];
        noise.fill(initialNoise);
        request.initialNoise().ifPresent(supplied -> System.arraycopy(supplied, 0, initialNoise, 0, initialNoise.length));

        Start start = prepare(request, shape, scheduler, initialNoise, clock);
        Optional<ClipObjective> objective = request.clip().active()
                ? Optional.of(new ClipObjective(model.clip("clip"), request, clock)) : Optional.empty();
        Optional<Handover> handover = request.refiner()
                .map(r -> Handover.of(r, scheduler, request, this, start.startIndex()));
        handover.ifPresent(h -> h.encodeText(shape, clock));
        int end = handover.map(Handover::baseEnd).orElse(scheduler.timesteps().length);
        ProgressListener baseProgress = handover.map(h -> h.baseProgress(progress)).orElse(progress);
        DenoisingLoop.Setup setup = new DenoisingLoop.Setup(scheduler, () -> scheduler(request, model), shape, start,
                text, request.guidanceScale(), noise, end);
        int total = handover.map(Handover::total).orElse(end - start.startIndex());
        StableDiffusionModel decoder = model;
        try (Previewer previews = Previewer.create(request.previews(), model,
                new Previewer.Target(g, shape.images(), shape.height(), shape.width(), total, progress))) {
            try (DenoisingLoop loop = new DenoisingLoop(unet, setup, clock);
                 ClipSteering steering = ClipSteering.create(new ClipSteering.Job(model, request, shape,
                         start.startIndex(), scheduler.timesteps().length), objective, limits.clip(), clock)) {
                loop.run(steering, baseProgress, cancellation, previews);
            }
            if (handover.isPresent()) {
                handover.get().refine(new Handover.Base(shape, start.latents(), noise, clock, previews), progress,
                        cancellation);
                decoder = handover.get().refiner().model();
            }
        }
        float[] finalLatents = start.latents().clone();
        cancellation.check();
        NonFiniteOutputException.check(finalLatents, "the denoised latents");
        List<GeneratedImage> images = decode(decoder, start.latents(), shape, request, clock);
        if (objective.isEmpty()) {
            return new GenerationResult(images, finalLatents, clock.stop(), new double[0]);
        }
        ClipObjective.Judgement judged = objective.get().judge(images.stream().map(GeneratedImage::image).toList());
        List<GeneratedImage> scored = new ArrayList<>(images.size());
        for (int j = 0; j < images.size(); j++) {
            scored.add(new GeneratedImage(images.get(j).image(), images.get(j).seed(),
                    java.util.OptionalDouble.of(ClipObjective.clipScore(judged.cosine()[j]))));
        }
        return new GenerationResult(scored, finalLatents, clock.stop(), judged.objective());
    }

    /** Per-job geometry: n images of [channels, height, width] latents, 1 or 2 guidance branches. */
    record JobShape(int images, int channels, int height, int width, int branches) {
        int perImage() {
            return channels * height * width;
        }

        int latentSize() {
            return images * perImage();
        }

        int unetBatch() {
            return images * branches;
        }
    }

    /**
     * Where the loop begins.
     *
     * @param latents          [n, C, h, w], the sample the scheduler steps
     * @param startIndex       first index into the scheduler's timesteps
     * @param extraChannels    inpainting UNets only: mask [1, h, w] ‖ masked-image latents [C, h, w], else empty
     * @param afterStep        4-channel inpainting puts the kept region back after each step; else nothing
     */
    record Start(float[] latents, int startIndex, float[] extraChannels, AfterStep afterStep) {
    }

    /** Applied to the latents after every scheduler step. */
    interface AfterStep {
        AfterStep NONE = (scheduler, next, count, latents) -> { };

        /** @param next index of the next timestep; {@code count} = timesteps in the schedule */
        void apply(Scheduler scheduler, int next, int count, float[] latents);
    }

    /**
     * Mask blending for ordinary UNets (diffusers' StableDiffusionInpaintPipeline with 4 channels):
     * after each step the kept region is replaced by the clean image latents noised to the next
     * timestep, so only the masked region is generated.
     *
     * @param imageLatents [n, C, h, w] clean, scaled image latents
     * @param mask         [h, w], 1 where the image is repainted
     * @param noise        [n, C, h, w] the job's start noise
     * @param proper       [n, C, h, w] scratch for the noised image latents
     */
    record MaskBlend(float[] imageLatents, float[] mask, float[] noise, float[] proper) implements AfterStep {

        @Override
        public void apply(Scheduler scheduler, int next, int count, float[] latents) {
            if (next < count) {
                scheduler.addNoise(imageLatents, noise, next, proper);
            } else {
                System.arraycopy(imageLatents, 0, proper, 0, proper.length);
            }
            for (int k = 0; k < latents.length; k++) {
                float m = mask[k % mask.length];
                latents[k] = (1 - m) * proper[k] + m * latents[k];
            }
        }
    }

    /** The scheduler a request runs with: its own choice, or the bundle's default. */
    public String schedulerName(GenerationRequest request) {
        return request.scheduler().orElse(model.config().defaultScheduler());
    }

    /**
     * A fresh scheduler for {@code owner}'s config (the base's or the refiner's) with the request's
     * timesteps set; its own limits surface as request errors.
     */
    Scheduler scheduler(GenerationRequest request, StableDiffusionModel owner) {
        String later = request.image().filter(i -> i.strength() < 1f).isPresent() ? IMAGE_START
                : request.clip().verifier().isPresent() ? "a verifier, which restarts from a branch point"
                : owner != model ? REFINER_START : null;
        return schedule(new Schedule(request.scheduler(), request.steps(), request.eta(), Optional.ofNullable(later)),
                owner);
    }

    /**
     * A run's schedule as the job states it, for {@link #checkSchedule}.
     *
     * @param scheduler the job's scheduler, else the model's own
     * @param lateStart why the run starts after the first step, if it does (img2img below full
     *                  strength, a verifier's restarts)
     */
    public record Schedule(Optional<String> scheduler, int steps, float eta, Optional<String> lateStart) {
    }

    /**
     * Refuses, as {@link InvalidRequestException} naming the field, a schedule this model's
     * scheduler cannot run (LCM past its original_inference_steps, PNDM with Runge–Kutta under 4
     * steps or starting late): the checks a job meets when it runs, for the intake to make first.
     */
    public void checkSchedule(Schedule schedule) {
        schedule(schedule, model);
    }

    /**
     * Refuses, as {@link InvalidRequestException} naming the field, a hand-over to {@code refiner}
     * that cannot run: the refiner's scheduler refusing to start at the hand-over, or a
     * {@code switchAt} at which the base would not denoise at all or the refiner would not run
     * ({@link Handover}). The checks a job meets when it runs, for the intake to make first; the
     * base's own schedule is {@link #checkSchedule}'s.
     *
     * @param schedule the base's schedule as the job states it (its late start is taken from {@code strength})
     * @param strength the initImage's strength, when the job has one
     */
    public void checkHandover(Schedule schedule, Optional<Float> strength, DiffusionPipeline refiner, double switchAt) {
        Scheduler base = schedule(new Schedule(schedule.scheduler(), schedule.steps(), schedule.eta(),
                strength.filter(s -> s < 1f).map(s -> IMAGE_START)), model);
        Scheduler second = schedule(new Schedule(schedule.scheduler(), schedule.steps(), schedule.eta(),
                Optional.of(REFINER_START)), refiner.model());
        int first = strength.map(s -> startIndex(base, schedule.steps(), s)).orElse(0);
        Handover.cut(new Handover.Split(model.config().scheduler().numTrainTimesteps(), switchAt, schedule.steps(),
                strength.isPresent()), base.timesteps(), second.timesteps(), first);
    }

    /** Why an image-to-image run starts late. */
    private static final String IMAGE_START = "an initImage with strength below 1";

    /** Why a refiner's schedule starts late: at the hand-over. */
    private static final String REFINER_START = "a refiner, which starts at the hand-over";

    /** The first timestep index of an image-to-image run (diffusers' get_timesteps with strength). */
    private static int startIndex(Scheduler scheduler, int steps, float strength) {
        int initSteps = Math.min((int) (steps * strength), steps);
        return (steps - initSteps) * scheduler.order();
    }

    private Scheduler schedule(Schedule s, StableDiffusionModel owner) {
        Scheduler scheduler;
        String name = s.scheduler().orElse(owner.config().defaultScheduler());
        try {
            scheduler = Schedulers.create(name, owner.config().scheduler(), s.eta());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("scheduler", e.getMessage());
        }
        try {
            scheduler.setTimesteps(s.steps());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("steps", e.getMessage());
        }
        if (scheduler.startsAtTheFirstStepOnly() && s.lateStart().isPresent()) {
            // Refused here, before any model runs: the scheduler would throw at its first late step.
            throw new InvalidRequestException("scheduler", name + " as this model configures it (skip_prk_steps false)"
                    + " runs every step from the first, and " + s.lateStart().get() + " starts at a later one: choose"
                    + " another scheduler (ddim, euler, dpmpp_2m)");
        }
        return scheduler;
    }

    private Start prepare(GenerationRequest request, JobShape shape, Scheduler scheduler, float[] initialNoise,
                          StageTimings.Clock clock) {
        ModelGeometry g = model.geometry();
        if (request.image().isEmpty() && !g.inpaintingUnet()) {
            return new Start(scaled(initialNoise, scheduler.initNoiseSigma()), 0, new float[0], AfterStep.NONE);
        }
        ImageInput input = request.image().orElseGet(() -> blankCanvas(request));
        RgbImage init = input.init();
        int startIndex = startIndex(scheduler, request.steps(), input.strength());
        boolean inpaint = input.mask().isPresent() || g.inpaintingUnet();

        // As diffusers' inpainting pipelines: at full strength start from pure noise; an inpainting
        // UNet then needs only the masked image's latents, not the whole image's.
        boolean fromNoise = inpaint && input.strength() >= 1f;
        float[] pixels = new float[3 * init.width() * init.height()];
        ImageTensors.toTensor(init, pixels, 0);
        float[] imageLatents = fromNoise && g.inpaintingUnet()
                ? new float[0]
                : repeat(encode(pixels, init, shape, clock), shape.images());
        float[] latents;
        if (fromNoise) {
            latents = scaled(initialNoise, scheduler.initNoiseSigma());
        } else {
            latents = new float[shape.latentSize()];
            scheduler.addNoise(imageLatents, initialNoise, startIndex, latents);
        }
        if (!inpaint) {
            return new Start(latents, startIndex, new float[0], AfterStep.NONE);
        }
        float[] mask = new float[shape.height() * shape.width()];
        GrayImage maskImage = input.mask().orElseGet(() -> fullMask(init.width(), init.height()));
        ImageTensors.maskToLatent(maskImage, shape.width(), shape.height(), mask, 0);
        if (g.inpaintingUnet()) {
            ImageTensors.maskToPixels(init, maskImage, pixels, 0);
            float[] extra = new float[mask.length + shape.perImage()];
            System.arraycopy(mask, 0, extra, 0, mask.length);
            System.arraycopy(encode(pixels, init, shape, clock), 0, extra, mask.length, shape.perImage());
            return new Start(latents, startIndex, extra, AfterStep.NONE);
        }
        return new Start(latents, startIndex, new float[0],
                new MaskBlend(imageLatents, mask, initialNoise, new float[shape.latentSize()]));
    }

    /** Inpainting UNet without an image: repaint everything over a mid-grey canvas, like A1111. */
    private static ImageInput blankCanvas(GenerationRequest request) {
        byte[] grey = new byte[request.width() * request.height() * 3];
        java.util.Arrays.fill(grey, (byte) 0x80);
        return ImageInput.inpaint(new RgbImage(request.width(), request.height(), grey),
                fullMask(request.width(), request.height()), 1f);
    }

    private static GrayImage fullMask(int width, int height) {
        byte[] white = new byte[width * height];
        java.util.Arrays.fill(white, (byte) 0xFF);
        return new GrayImage(width, height, white);
    }

    /**
     * VAE-encodes one image to scaled latents [C, h, w].
     *
     * @param pixels [3, H, W] in [-1, 1]
     */
    private float[] encode(float[] pixels, RgbImage image, JobShape shape, StageTimings.Clock clock) {
        ModelGeometry g = model.geometry();
        VaeEncoder encoder = model.vaeEncoder("initImage");
        float[] latent = new float[shape.perImage()];
        long t0 = System.nanoTime();
        encoder.encode(pixels, image.height(), image.width(), g.latentChannels(), latent);
        clock.vaeEncode += System.nanoTime() - t0;
        for (int i = 0; i < latent.length; i++) {
            latent[i] *= g.scalingFactor();
        }
        return latent;
    }

    /** Classifier-free guidance: ε = ε_uncond + s·(ε_cond − ε_uncond); uncond is the first half. */
    static void guide(float[] prediction, float[] out, int half, float scale) {
        for (int k = 0; k < half; k++) {
            float uncond = prediction[k];
            out[k] = uncond + scale * (prediction[half + k] - uncond);
        }
    }

    private static List<GeneratedImage> decode(StableDiffusionModel model, float[] latents, JobShape shape,
                                               GenerationRequest request, StageTimings.Clock clock) {
        ModelGeometry g = model.geometry();
        float inverse = 1f / g.scalingFactor();
        float[] unscaled = scaled(latents, inverse);
        /* [3, H, W] */
        float[] pixels = new float[3 * request.width() * request.height()];
        List<GeneratedImage> images = new ArrayList<>(shape.images());
        VaeDecoder decoder = model.vaeDecoder();
        try (VaeDecoder.DecoderRun run = decoder.start(shape.channels(), shape.height(), shape.width(),
                g.vaeScaleFactor())) {
            for (int j = 0; j < shape.images(); j++) {
                long t0 = System.nanoTime();
                run.decode(unscaled, j, pixels);
                clock.vaeDecode += System.nanoTime() - t0;
                NonFiniteOutputException.check(pixels, "the VAE's picture " + j);
                images.add(new GeneratedImage(ImageTensors.toImage(pixels, 0, request.width(), request.height()),
                        request.seed() + j));
            }
        }
        return images;
    }

    private static float[] scaled(float[] values, float factor) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] * factor;
        }
        return out;
    }

    private static float[] repeat(float[] one, int times) {
        float[] out = new float[one.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(one, 0, out, i * one.length, one.length);
        }
        return out;
    }
}
