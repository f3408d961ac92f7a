package dev.easel.contract;

import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.tokenizer.PromptMode;

/**
 * What a job's model gives the parameters the job leaves out: size, steps and guidance from its
 * bundle ({@code StableDiffusionModel#defaults()}), prompt syntax from its configuration.
 */
public record JobDefaults(ModelDefaults model, PromptMode promptSyntax) {

    /** For a model the parser does not know: SD 1.x's 512×512, 30 steps, guidance 7.5, plain prompts. */
    public static final JobDefaults GENERIC = new JobDefaults(
            new ModelDefaults(512, 512, ModelDefaults.STEPS, ModelDefaults.GUIDANCE), PromptMode.PLAIN);
}
