package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code easel.models.*}: the model bundles this worker serves, by the name jobs use in
 * {@code model}. Each is loaded once at startup ({@code dev.easel.worker.ModelRegistry}); a
 * bundle that fails to load is logged and its name is unavailable, the others still serve.
 */
@ConfigMapping(prefix = "easel")
public interface ModelsConfig {

    /**
     * {@code easel.models.<name>.path}: one entry per model; {@code <name>} is what a job's
     * {@code model} field must say. Default: none, so every job fails as naming an unknown model.
     */
    Map<String, ModelConfig> models();

    /** One configured model. */
    interface ModelConfig {

        /** {@code easel.models.<name>.path}: the bundle directory (diffusers/Optimum ONNX layout). */
        Path path();
    }
}
