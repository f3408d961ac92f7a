package dev.easel.engine.bundle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where each part of a diffusers/Optimum ONNX Stable Diffusion bundle lives. Model files may have
 * external weights beside them (model.onnx_data, weights.pb); ONNX Runtime resolves those relative
 * to the model file, so the layout only names the .onnx files.
 *
 * @param root            bundle directory
 * @param vaeEncoder      present only when vae_encoder/model.onnx exists (img2img, inpainting)
 */
public record BundleLayout(Path root, Path modelIndex, Path schedulerConfig, Path tokenizer,
                           Path textEncoder, Path unet, Path vaeDecoder, Optional<Path> vaeEncoder) {

    public static final String MODEL_FILE = "model.onnx";
    public static final String CONFIG_FILE = "config.json";

    /** The standard layout under {@code root}, without checking that the files exist. */
    public static BundleLayout of(Path root) {
        Path encoder = root.resolve("vae_encoder").resolve(MODEL_FILE);
        return new BundleLayout(root,
                root.resolve("model_index.json"),
                root.resolve("scheduler").resolve("scheduler_config.json"),
                root.resolve("tokenizer"),
                root.resolve("text_encoder").resolve(MODEL_FILE),
                root.resolve("unet").resolve(MODEL_FILE),
                root.resolve("vae_decoder").resolve(MODEL_FILE),
                Files.exists(encoder) ? Optional.of(encoder) : Optional.empty());
    }

    /** Fails with one message listing every required model file that is missing. */
    public BundleLayout requireModels() {
        if (!Files.isDirectory(root)) {
            throw new BundleException(root + ": model bundle directory does not exist");
        }
        List<String> missing = new ArrayList<>();
        for (Path file : List.of(textEncoder, unet, vaeDecoder)) {
            if (!Files.isRegularFile(file)) {
                missing.add(root.relativize(file).toString());
            }
        }
        if (!missing.isEmpty()) {
            throw new BundleException(root + ": missing model file(s) " + String.join(", ", missing)
                    + " (expected the diffusers/Optimum ONNX layout: text_encoder/, unet/, vae_decoder/"
                    + " each with " + MODEL_FILE + ")");
        }
        return this;
    }

    /** The optional config.json beside a model file. */
    public static Path configBeside(Path modelFile) {
        return modelFile.resolveSibling(CONFIG_FILE);
    }
}
