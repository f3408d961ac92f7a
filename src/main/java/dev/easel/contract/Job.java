package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.ImageInput;
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
public record Job(int version, String id, String model, String prompt, String negativePrompt, int width, int height,
                  int steps, double guidanceScale, Optional<String> scheduler, double eta, Optional<Long> seed,
                  int numImages, Optional<ImageReference> initImage, Optional<ImageReference> mask,
                  Optional<Double> strength, Optional<Boolean> clipScore, Optional<Rerank> rerank,
                  Optional<Verifier> verifier, Optional<Double> clipGuidanceScale, Optional<Edit> edit,
                  Optional<JobOutput> output, Optional<JobWebhook> webhook,
                  Optional<ObjectNode> metadata, Optional<Instant> deadline) {

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
     * @param image  the decoded initImage/mask ({@link ImageInputs}); present exactly when the job
     *               has an initImage
     * @param random draws the seed when the job has none
     * @throws IllegalArgumentException if {@code image} does not match the job's initImage
     */
    public GenerationPlan toGenerationRequest(Optional<ImageInput> image, RandomGenerator random) {
        if (image.isPresent() != initImage.isPresent()) {
            throw new IllegalArgumentException("job " + id + (initImage.isPresent()
                    ? " has an initImage but no decoded image was given" : " has no initImage but an image was given"));
        }
        long chosen = seed.orElseGet(() -> random.nextLong(RANDOM_SEED_BOUND));
        GenerationRequest.Builder builder = GenerationRequest.builder(prompt)
                .negativePrompt(negativePrompt)
                .size(width, height)
                .steps(steps)
                .guidanceScale((float) guidanceScale)
                .eta((float) eta)
                .seed(chosen)
                .numImages(numImages);
        scheduler.ifPresent(builder::scheduler);
        image.ifPresent(builder::image);
        builder.clip(clipOptions());
        return new GenerationPlan(builder.build(), chosen, seed.isEmpty());
    }
}
