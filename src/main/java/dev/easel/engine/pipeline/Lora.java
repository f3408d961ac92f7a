package dev.easel.engine.pipeline;

import java.nio.file.Path;

/**
 * A LoRA adapter to merge into a model ({@link StableDiffusionModel#withLoras}): a safetensors
 * file and how strongly it applies.
 *
 * @param name  how requests name it (errors say {@code loras[i].name})
 * @param file  the adapter's safetensors file
 * @param scale its multiplier, finite; 0 leaves the model's weights unchanged
 */
public record Lora(String name, Path file, double scale) {

    public Lora {
        if (!Double.isFinite(scale)) {
            throw new IllegalArgumentException("LoRA " + name + ": scale must be finite, got " + scale);
        }
    }
}
