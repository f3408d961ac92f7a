package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.ImageInput;
import dev.easel.engine.pipeline.MicroConditioning;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.pipeline.PreviewMode;
import dev.easel.engine.pipeline.PreviewOptions;
import dev.easel.engine.tokenizer.PromptMode;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * A generation job, version 1 of the contract (src/main/resources/schema/job-v1.schema.json,
 * docs/job-contract.md). Obtain one from {@link JobParser}, which has checked it and filled in the
 * schema's defaults; serialising it gives JSON that validates against the same schema.
 *
 * @param metadata the client's opaque object, echoed back; do not modify it
 */
@JsonInclude(JsonInclude.Include.NON_ABSENT)
public record Job(int version, String id, String model, String prompt, Optional<String> negativePrompt,
                  Optional<String> promptSyntax, Optional<Integer> width, Optional<Integer> height,
                  Optional<Integer> steps, Optional<Double> guidanceScale, Optional<Refiner> refiner,
                  Optional<Size> originalSize, Optional<Size> targetSize, Optional<Crop> cropTopLeft,
                  Optional<Double> aestheticScore, Optional<Double> negativeAestheticScore,
                  Optional<String> scheduler, double eta, Optional<Long> seed,
                  int numImages, Optional<ImageReference> initImage, Optional<ImageReference> mask,
                  Optional<Double> strength, Optional<Boolean> clipScore, Optional<Rerank> rerank,
                  Optional<Verifier> verifier, Optional<Double> clipGuidanceScale, Optional<Edit> edit,
                  Optional<Rewrite> rewrite, Optional<Previews> previews, Optional<List<Lora>> loras,
                  Optional<JobOutput> output, Optional<JobWebhook> webhook,
                  Optional<ObjectNode> metadata, Optional<Instant> deadline) {

    /** {@code refiner}: the SDXL refiner that finishes the schedule from {@code switchAt} on. */
    @JsonInclude(JsonInclude.Include.NON_ABSENT)
    public record Refiner(String model, Optional<Double> switchAt) {

        /** diffusers' example hand-over point. */
        public static final double DEFAULT_SWITCH_AT = 0.8;

        public double effectiveSwitchAt() {
            return switchAt.orElse(DEFAULT_SWITCH_AT);
        }
    }

    /** {@code originalSize}, {@code targetSize}: a size in pixels. */
    public record Size(int width, int height) {
    }

    /** {@code cropTopLeft}: a crop corner in pixels. */
    public record Crop(int top, int left) {
    }

    /** {@code rerank}: best-of-N with N = {@code candidates}, keeping numImages. */
    public record Rerank(int candidates) {
    }

    /** {@code verifier}: branches after every n-th step or after the listed steps (exactly one given). */
    @JsonInclude(JsonInclude.Include.NON_ABSENT)
    public record Verifier(int branches, Optional<Integer> every, Optional<List<Integer>> atSteps) {
    }

    /** {@code edit}: a directional CLIP edit from source to target text. */
    public record Edit(String source, String target) {
    }

    /** {@code rewrite}: concept edits of the model's UNet for this job (docs/rewriting.md). */
    @JsonInclude(JsonInclude.Include.NON_ABSENT)
    public record Rewrite(Optional<List<Replacement>> replace, Optional<List<String>> erase,
                          Optional<List<String>> preserve, Optional<Double> lambda, Optional<String> rows,
                          Optional<List<String>> contexts, Optional<Double> preserveScale,
                          Optional<Double> preserveUnconditional, Optional<List<String>> projections) {

        /** One {@code replace} item. */
        public record Replacement(String source, String target) {
        }

        /**
         * The engine's edit. Equal jobs' rewrites give equal engine rewrites, so it keys the
         * worker's cache of rewritten models.
         */
        public dev.easel.engine.pipeline.Rewrite toEngine() {
            dev.easel.engine.pipeline.Rewrite out = dev.easel.engine.pipeline.Rewrite.none();
            for (Replacement r : replace.orElse(List.of())) {
                out = out.replace(r.source(), r.target());
            }
            for (String concept : erase.orElse(List.of())) {
                out = out.erase(concept);
            }
            for (String concept : preserve.orElse(List.of())) {
                out = out.preserve(concept);
            }
            if (rows.isPresent()) {
                out = out.withRows(dev.easel.engine.pipeline.Rewrite.Rows.of(rows.get()));
            }
            if (contexts.isPresent()) {
                out = out.withContexts(contexts.get());
            }
            if (preserveScale.isPresent()) {
                out = out.withPreserveScale(preserveScale.get());
            }
            if (preserveUnconditional.isPresent()) {
                out = out.withPreserveUnconditional(preserveUnconditional.get());
            }
            if (projections.isPresent()) {
                out = out.withProjections(dev.easel.engine.pipeline.Rewrite.projectionsOf(projections.get()));
            }
            return out.withLambda(lambda.orElse(dev.easel.engine.pipeline.Rewrite.DEFAULT_LAMBDA));
        }

        /** The job's field for an engine field named in an {@link dev.easel.engine.pipeline.InvalidRequestException}. */
        public static String jobField(String engineField) {
            switch (engineField) {
                case "erase":
                    return "rewrite.erase";
                case "preserve":
                    return "rewrite.preserve";
                case "rewrite-lambda":
                    return "rewrite.lambda";
                case "rewrite-rows":
                    return "rewrite.rows";
                case "rewrite-context":
                    return "rewrite.contexts";
                case "preserve-scale":
                    return "rewrite.preserveScale";
                case "preserve-unconditional":
                    return "rewrite.preserveUnconditional";
                case "rewrite-projections":
                    return "rewrite.projections";
                case "rewrite":
                    return "rewrite.replace";
                default:
                    return engineField;
            }
        }
    }

    /**
     * {@code previews}: pictures while it denoises, after every {@code every}-th step, drawn as
     * {@code mode} says ({@code approx} or {@code decode}; the schema's default fills it in).
     */
    public record Previews(int every, String mode) {

        /** The engine's options at the engine's default size; the worker applies its caps ({@code easel.worker.previews.*}). */
        public PreviewOptions toEngine() {
            return new PreviewOptions(every, PreviewMode.of(mode == null ? "approx" : mode), PreviewOptions.DEFAULT_MAX_SIDE);
        }
    }

    /**
     * {@code loras} item: an adapter of the worker's adapter directory, by name (docs/rewriting.md).
     * Equal jobs' lists are equal, so the list keys the worker's cache of adapted models.
     */
    @JsonInclude(JsonInclude.Include.NON_ABSENT)
    public record Lora(String name, Optional<Double> scale) {

        /** Its scale when the job gives none. */
        public static final double DEFAULT_SCALE = 1.0;

        public double effectiveScale() {
            return scale.orElse(DEFAULT_SCALE);
        }

        /** The job's field for item {@code i}'s name: what errors about the adapter name. */
        public static String nameField(int i) {
            return "loras[" + i + "].name";
        }
    }

    /** What the job asks of CLIP, for the engine. */
    public ClipOptions clipOptions() {
        ClipOptions options = ClipOptions.NONE;
        if (clipScore.orElse(false)) {
            options = options.withScore();
        }
        if (rerank.isPresent()) {
            options = options.withRerank(rerank.get().candidates());
        }
        if (verifier.isPresent()) {
            Verifier v = verifier.get();
            ClipOptions.Steps steps = v.every().<ClipOptions.Steps>map(ClipOptions.Every::new)
                    .orElseGet(() -> new ClipOptions.At(v.atSteps().orElse(List.of())));
            options = options.withVerifier(new ClipOptions.Verifier(v.branches(), steps));
        }
        if (clipGuidanceScale.isPresent()) {
            options = options.withGuidance(clipGuidanceScale.get());
        }
        if (edit.isPresent()) {
            options = options.withEdit(new ClipOptions.Edit(edit.get().source(), edit.get().target()));
        }
        return options;
    }

    /** Whether the job uses the model's CLIP at all. */
    public boolean usesClip() {
        return clipOptions().active();
    }

    /** Strength of image-to-image when the job has an initImage but no strength (diffusers' default). */
    public static final double DEFAULT_STRENGTH = 0.8;
    /** Worker-chosen seeds are below 2^32, like AUTOMATIC1111's, so they are short to quote. */
    static final long RANDOM_SEED_BOUND = 1L << 32;

    /** The strength that applies: the job's, or {@link #DEFAULT_STRENGTH} for image-to-image. */
    public double effectiveStrength() {
        return strength.orElse(DEFAULT_STRENGTH);
    }

    /**
     * The engine request for this job.
     *
     * @param image    the decoded initImage/mask ({@link ImageInputs}); present exactly when the job
     *                 has an initImage
     * @param random   draws the seed when the job has none
     * @param defaults what the job's model gives the parameters the job leaves out
     * @param refiner  the refiner model's pipeline (its steps run through the pipeline's batcher when
     *                 batching is on), present exactly when the job names one
     * @throws IllegalArgumentException if {@code image} or {@code refiner} does not match the job
     */
    public GenerationPlan toGenerationRequest(Optional<ImageInput> image, RandomGenerator random, JobDefaults defaults,
                                              Optional<DiffusionPipeline> refiner) {
        if (image.isPresent() != initImage.isPresent()) {
            throw new IllegalArgumentException("job " + id + (initImage.isPresent()
                    ? " has an initImage but no decoded image was given" : " has no initImage but an image was given"));
        }
        if (refiner.isPresent() != this.refiner.isPresent()) {
            throw new IllegalArgumentException("job " + id + (this.refiner.isPresent()
                    ? " names a refiner but none was given" : " names no refiner but one was given"));
        }
        long chosen = seed.orElseGet(() -> random.nextLong(RANDOM_SEED_BOUND));
        ModelDefaults model = defaults.model();
        int w = width.orElseGet(() -> image.map(i -> i.init().width()).orElse(model.width()));
        int h = height.orElseGet(() -> image.map(i -> i.init().height()).orElse(model.height()));
        GenerationRequest.Builder builder = GenerationRequest.builder(prompt)
                .negativePrompt(negativePrompt)
                .size(w, h)
                .steps(steps.orElse(model.steps()))
                .guidanceScale(guidanceScale.map(Double::floatValue).orElse(model.guidanceScale()))
                .eta((float) eta)
                .seed(chosen)
                .numImages(numImages)
                .promptSyntax(promptSyntax.map(PromptMode::of).orElse(defaults.promptSyntax()))
                .micro(micro());
        scheduler.ifPresent(builder::scheduler);
        image.ifPresent(builder::image);
        refiner.ifPresent(r -> builder.refiner(r.asRefiner(this.refiner.orElseThrow().effectiveSwitchAt())));
        builder.clip(clipOptions());
        previews.ifPresent(p -> builder.previews(p.toEngine()));
        return new GenerationPlan(builder.build(), chosen, seed.isEmpty());
    }

    /** SDXL's size/crop/aesthetic conditioning, with diffusers' defaults for what the job leaves out. */
    private MicroConditioning micro() {
        MicroConditioning micro = MicroConditioning.DEFAULT;
        if (originalSize.isPresent()) {
            micro = micro.withOriginalSize(new MicroConditioning.Size(originalSize.get().width(),
                    originalSize.get().height()));
        }
        if (targetSize.isPresent()) {
            micro = micro.withTargetSize(new MicroConditioning.Size(targetSize.get().width(), targetSize.get().height()));
        }
        if (cropTopLeft.isPresent()) {
            micro = micro.withCropTopLeft(new MicroConditioning.Offset(cropTopLeft.get().top(), cropTopLeft.get().left()));
        }
        return micro.withAestheticScores(aestheticScore.orElse(micro.aestheticScore()),
                negativeAestheticScore.orElse(micro.negativeAestheticScore()));
    }
}
