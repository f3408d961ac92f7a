package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithParentName;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code easel.models.*}: the model bundles this worker serves, by the name jobs use in
 * {@code model}. Each is loaded once at startup ({@code dev.easel.worker.ModelRegistry}); a
 * bundle that fails to load is logged and its name is unavailable, the others still serve.
 * Readiness ({@code /q/health/ready}) is UP once every one has loaded, and stays DOWN if one failed.
 */
// Prefix easel.models, not easel: a mapping on "easel" would claim, and refuse as unknown, every
// other easel.* key (and the test JVM's easel.* system properties).
@ConfigMapping(prefix = "easel.models")
public interface ModelsConfig {

    /**
     * {@code easel.models.<name>.path}: one entry per model; {@code <name>} is what a job's
     * {@code model} field must say. Default: none, so every job fails as naming an unknown model.
     */
    @WithParentName
    Map<String, ModelConfig> models();

    /** One configured model. */
    interface ModelConfig {

        /**
         * {@code easel.models.<name>.path}: the bundle directory (diffusers/Optimum ONNX layout).
         * Exactly one of {@code path} and {@code base} must be set.
         */
        Optional<Path> path();

        /**
         * {@code easel.models.<name>.base}: makes this model a variant of the configured model of
         * that name, served under its own name with the base's UNet rewritten as {@code rewrite.*}
         * says (docs/rewriting.md). A variant shares everything but the UNet with its base, and
         * takes the base's defaults and prompt syntax.
         */
        Optional<String> base();

        /** {@code easel.models.<name>.rewrite.*}: a variant's concept edits; only with {@code base}. */
        RewriteConfig rewrite();

        /**
         * {@code easel.models.<name>.loras.<lora>=<scale>}: a variant's LoRA adapters, each a file
         * {@code <easel.loras.dir>/<lora>.safetensors} merged at that scale (docs/rewriting.md); only
         * with {@code base}, and not with {@code rewrite.*}. Default: none.
         */
        Map<String, Double> loras();

        /**
         * {@code easel.models.<name>.clip}: a CLIP model directory (split or combined ONNX export with
         * preprocessor_config.json; docs/clip.md) for the CLIP job options. Default: the bundle's own
         * {@code clip/} folder when it has one, else none (CLIP options are then rejected).
         */
        Optional<Path> clip();

        /**
         * {@code easel.models.<name>.prompt-syntax}: how this model reads jobs that do not say
         * ({@code promptSyntax}): {@code plain} or {@code weighted} (AUTOMATIC1111's attention syntax
         * and chunked long prompts). Default: plain, so version-1 jobs keep their meaning.
         */
        Optional<String> promptSyntax();

        /**
         * {@code easel.models.<name>.defaults.*}: what jobs that leave them out get, over what the
         * bundle says (its UNet's sample_size × 8; 30 steps at guidance 7.5, 4 unguided for LCM, 1
         * unguided for Turbo bundles) — e.g. 4 steps for an SDXL-Turbo deployment that wants them.
         */
        JobDefaultsConfig defaults();
    }

    /** Per-model overrides of the bundle's defaults. */
    interface JobDefaultsConfig {

        /** {@code width} in pixels. */
        Optional<Integer> width();

        /** {@code height} in pixels. */
        Optional<Integer> height();

        /** {@code steps}. */
        Optional<Integer> steps();

        /** {@code guidance-scale}; ≤ 1 turns guidance off. */
        Optional<Double> guidanceScale();
    }

    /** A variant's concept edits (docs/rewriting.md). */
    interface RewriteConfig {

        /** {@code replace}: {@code source=target} pairs, e.g. {@code circle=square,red=blue}. */
        Optional<List<String>> replace();

        /** {@code erase}: concepts to erase. */
        Optional<List<String>> erase();

        /** {@code preserve}: concepts whose projections are kept. */
        Optional<List<String>> preserve();

        /** {@code lambda}: λ &gt; 0, how strongly the original weights are kept; 0.1 by default. */
        Optional<Double> lambda();

        /** {@code preserve-scale}: the preserved concepts' weight, &gt; 0; 1 by default. */
        Optional<Double> preserveScale();

        /** {@code preserve-unconditional}: the empty prompt's weight per context, kept as it is; 0 (not held) by default. */
        Optional<Double> preserveUnconditional();

        /** {@code projections}: which cross-attention projections are edited, {@code key,value} (default) or one. */
        Optional<List<String>> projections();

        /** {@code rows}: through-padding (default) or through-eos. */
        Optional<String> rows();

        /** {@code contexts}: prompt templates with {} for the concept (a comma inside one written {@code \,}). */
        Optional<List<String>> contexts();
    }
}
