package dev.easel.engine.bundle;

import dev.easel.engine.scheduler.SchedulerConfig;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything a bundle's configuration files say, read without loading any model weights: the
 * pipeline index, the scheduler config, the tokenizer and the optional component configs.
 *
 * @param defaultScheduler the Easel scheduler name matching scheduler_config.json's _class_name
 * @param tokenizers       one per text stage of the layout, in its order
 */
public record BundleConfig(BundleLayout layout, ModelIndex modelIndex, SchedulerConfig scheduler,
                           String defaultScheduler, List<ClipTokenizer> tokenizers, ComponentConfigs components) {

    public BundleConfig {
        tokenizers = List.copyOf(tokenizers);
    }

    /** The first text stage's tokenizer (SD's only one; SDXL's CLIP-L one; a refiner's OpenCLIP one). */
    public ClipTokenizer tokenizer() {
        return tokenizers.get(0);
    }

    /** diffusers scheduler classes → Easel scheduler names. */
    private static final Map<String, String> SCHEDULER_CLASSES = Map.of(
            "PNDMScheduler", "pndm",
            "DDIMScheduler", "ddim",
            "EulerDiscreteScheduler", "euler",
            "EulerAncestralDiscreteScheduler", "euler_a",
            "DPMSolverMultistepScheduler", "dpmpp_2m",
            "LCMScheduler", "lcm");

    public static BundleConfig read(Path root) {
        BundleLayout layout = BundleLayout.of(root);
        ModelIndex index = ModelIndex.read(layout.modelIndex());
        SchedulerConfig scheduler = SchedulerConfig.read(layout.schedulerConfig());
        String schedulerClass = Json.optionalString(Json.readObject(layout.schedulerConfig()), "_class_name")
                .orElse(index.componentClass("scheduler"));
        String defaultScheduler = SCHEDULER_CLASSES.getOrDefault(schedulerClass, "pndm");
        if ("dpmpp_2m".equals(defaultScheduler) && scheduler.useKarrasSigmas()) {
            defaultScheduler = "dpmpp_2m_karras";
        }
        List<ClipTokenizer> tokenizers = layout.texts().stream().map(stage -> ClipTokenizer.load(stage.tokenizer()))
                .toList();
        return new BundleConfig(layout, index, scheduler, defaultScheduler, tokenizers, ComponentConfigs.read(layout));
    }
}
