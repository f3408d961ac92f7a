package dev.easel.worker;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.easel.contract.JobDefaults;
import dev.easel.contract.JobLimits;
import dev.easel.config.JobLimitsConfig;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.engine.scheduler.Schedulers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What each configured model is and takes, for {@code GET /v1/models}: its family, the defaults a
 * job that leaves them out gets, the limits its jobs are held to and what it can do. Read from
 * the loaded bundles; a model still loading or broken says so. Does not wait for loading.
 */
@ApplicationScoped
public class ModelCatalog {

    private final ModelRegistry models;
    private final JobLimits limits;

    @Inject
    ModelCatalog(ModelRegistry models, JobLimitsConfig limits) {
        this(models, limits.toJobLimits());
    }

    ModelCatalog(ModelRegistry models, JobLimits limits) {
        this.models = models;
        this.limits = limits;
    }

    /**
     * One model.
     *
     * @param state "loading", "loaded" or "failed"
     * @param error why it failed to load
     * @param kind    "SD", "SDXL" or "SDXL refiner" (with "inpainting" for a 9-channel UNet)
     * @param variant for a configured variant ({@code easel.models.<name>.base}): its base and edit
     */
    @JsonInclude(JsonInclude.Include.NON_ABSENT)
    public record Model(String name, String state, Optional<String> error, Optional<String> kind,
                        Optional<Defaults> defaults, Optional<Limits> limits, Optional<Capabilities> capabilities,
                        Optional<Variant> variant) {
    }

    /**
     * A variant's base model and its concept edits ({@code replace} as {@code source=target}, with
     * the edit's λ, rows, contexts, preserve scale, unconditional weight (absent: not held) and
     * projections), or its LoRA adapters (name → scale; the
     * edit's lists are then empty and its settings absent).
     */
    public record Variant(String base, List<String> replace, List<String> erase, List<String> preserve,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double lambda,
                          @JsonInclude(JsonInclude.Include.NON_NULL) String rows,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> contexts,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double preserveScale,
                          @JsonInclude(JsonInclude.Include.NON_NULL) Double preserveUnconditional,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> projections,
                          @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Double> loras) {

        /** A rewrite variant with the edit's default rows, context, preserve scale and projections. */
        public Variant(String base, List<String> replace, List<String> erase, List<String> preserve, double lambda) {
            this(base, replace, erase, preserve, lambda, Rewrite.Rows.THROUGH_PADDING.label(), Rewrite.ALONE, 1.0, null,
                    Rewrite.none().projectionLabels(), Map.of());
        }

        static Variant of(ModelRegistry.Variant v) {
            if (!v.loras().isEmpty()) {
                return new Variant(v.base(), List.of(), List.of(), List.of(), null, null, List.of(), null, null,
                        List.of(), v.loras());
            }
            Rewrite r = v.rewrite();
            return new Variant(v.base(), r.replacements().stream().map(x -> x.source() + "=" + x.target()).toList(),
                    r.erasures(), r.preserved(), r.lambda(), r.rows().label(), r.contexts(), r.preserveScale(),
                    r.preserveUnconditional() > 0 ? r.preserveUnconditional() : null, r.projectionLabels(), Map.of());
        }
    }

    /** What a job that leaves them out gets. */
    public record Defaults(int width, int height, int steps, double guidanceScale, String scheduler,
                           String promptSyntax) {
    }

    /**
     * What its jobs are held to.
     *
     * @param sizeMultiple width and height must be multiples of it (the VAE's scale factor)
     */
    public record Limits(int sizeMultiple, int maxWidth, int maxHeight, long maxPixels, int maxSteps, int maxImages,
                         double maxGuidance, int maxPromptTokens, int maxPromptChunks) {
    }

    /**
     * What it can do.
     *
     * @param imageToImage    initImage (it has a VAE encoder)
     * @param inpainting      mask (a VAE encoder; a 9-channel UNet or mask blending)
     * @param clip            the CLIP options (clipScore, rerank, verifier, edit)
     * @param clipGuidance    clipGuidanceScale (a clip_guidance graph)
     * @param longPrompts     weighted prompts of several 75-token chunks
     * @param micro           SDXL's originalSize / targetSize / cropTopLeft (and aesthetic scores for a refiner)
     * @param schedulers      the scheduler names a job may ask for
     */
    public record Capabilities(boolean imageToImage, boolean inpainting, boolean clip, boolean clipGuidance,
                               boolean longPrompts, boolean micro, List<String> schedulers) {
    }

    /** Every configured model, by name. */
    public List<Model> describe() {
        List<Model> out = new ArrayList<>();
        Map<String, DiffusionPipeline> loaded = models.loadedNow();
        models.statuses().forEach((name, status) -> {
            DiffusionPipeline pipeline = loaded.get(name);
            if (pipeline == null) {
                out.add(new Model(name, status.state().name().toLowerCase(java.util.Locale.ROOT), status.error(),
                        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                        models.variant(name).map(Variant::of)));
            } else {
                out.add(describe(name, pipeline));
            }
        });
        return out;
    }

    private Model describe(String name, DiffusionPipeline pipeline) {
        StableDiffusionModel model = pipeline.model();
        JobDefaults defaults = models.defaults(pipeline);
        String kind = model.kind() + (model.geometry().inpaintingUnet() ? " inpainting" : "");
        Defaults d = new Defaults(defaults.model().width(), defaults.model().height(), defaults.model().steps(),
                defaults.model().guidanceScale(), model.config().defaultScheduler(), defaults.promptSyntax().wireName());
        Limits l = new Limits(model.geometry().vaeScaleFactor(), limits.maxWidth(), limits.maxHeight(),
                limits.maxPixels(), limits.maxSteps(), limits.maxImages(), limits.maxGuidance(), limits.maxPromptTokens(),
                GenerationLimits.MAX_PROMPT_CHUNKS);
        // Inpainting encodes the init image too, with either UNet: without a VAE encoder, neither runs.
        Capabilities c = new Capabilities(model.hasVaeEncoder(), model.hasVaeEncoder(),
                model.hasClip(), model.hasClip() && model.hasClipGuidance(), model.takesLongPrompts(), model.xl(),
                Schedulers.names());
        return new Model(name, "loaded", Optional.empty(), Optional.of(kind), Optional.of(d), Optional.of(l),
                Optional.of(c), models.variant(name).map(Variant::of));
    }
}
