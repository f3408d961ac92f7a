package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code easel.loras.*}: the LoRA adapters jobs ({@code loras}) and variants
 * ({@code easel.models.<name>.loras.<lora>}) may name (docs/rewriting.md).
 */
@ConfigMapping(prefix = "easel.loras")
public interface LorasConfig {

    /**
     * {@code easel.loras.dir}: the directory of adapter files, {@code <name>.safetensors} each; a
     * name is the file's name without the extension. Jobs give names only, never paths. Default:
     * none, so jobs with {@code loras} are refused and LoRA variants fail to load.
     */
    Optional<Path> dir();
}
