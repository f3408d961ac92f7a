package dev.easel.engine.bundle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where each part of a diffusers/Optimum ONNX bundle lives: SD 1.x/2.x (tokenizer/ and
 * text_encoder/), SDXL base (those plus tokenizer_2/ and text_encoder_2/) and the SDXL refiner
 * (only the second pair). Model files may have external weights beside them (model.onnx_data,
 * weights.pb); ONNX Runtime resolves those relative to the model file, so the layout only names the
 * .onnx files.
 *
 * @param texts      the bundle's tokenizer + text encoder pairs that exist, in order (first, second)
 * @param vaeEncoder present only when vae_encoder/model.onnx exists (img2img, inpainting)
 */
public record BundleLayout(Path root, Path modelIndex, Path schedulerConfig, List<TextStage> texts,
                           Path unet, Path vaeDecoder, Optional<Path> vaeEncoder) {

    public static final String MODEL_FILE = "model.onnx";
    public static final String CONFIG_FILE = "config.json";

    /**
     * One tokenizer and the text encoder it feeds.
     *
     * @param second whether this is SDXL's second pair (tokenizer_2/, text_encoder_2/)
     */
    public record TextStage(Path tokenizer, Path encoder, boolean second) {
    }

    public BundleLayout {
        texts = List.copyOf(texts);
    }

    /** The standard layout under {@code root}, without checking that the model files exist. */
    public static BundleLayout of(Path root) {
        Path encoder = root.resolve("vae_encoder").resolve(MODEL_FILE);
        TextStage first = new TextStage(root.resolve("tokenizer"), root.resolve("text_encoder").resolve(MODEL_FILE), false);
        TextStage second = new TextStage(root.resolve("tokenizer_2"), root.resolve("text_encoder_2").resolve(MODEL_FILE),
                true);
        List<TextStage> texts = new ArrayList<>();
        // A pair is there when either of its folders is (configs alone, as in a reference bundle,
        // count); the first is assumed when neither is, so an SD bundle missing its encoder is
        // reported as such. A refiner has only the second.
        boolean hasSecond = present(second);
        if (present(first) || !hasSecond) {
            texts.add(first);
        }
        if (hasSecond) {
            texts.add(second);
        }
        return new BundleLayout(root,
                root.resolve("model_index.json"),
                root.resolve("scheduler").resolve("scheduler_config.json"),
                texts,
                root.resolve("unet").resolve(MODEL_FILE),
                root.resolve("vae_decoder").resolve(MODEL_FILE),
                Files.exists(encoder) ? Optional.of(encoder) : Optional.empty());
    }

    private static boolean present(TextStage stage) {
        return Files.isDirectory(stage.tokenizer()) || Files.isDirectory(stage.encoder().getParent());
    }

    /** The first text stage's tokenizer folder (SD's tokenizer/, a refiner's tokenizer_2/). */
    public Path tokenizer() {
        return texts.get(0).tokenizer();
    }

    /** The first text stage's encoder. */
    public Path textEncoder() {
        return texts.get(0).encoder();
    }

    /** Fails with one message listing every required model file that is missing. */
    public BundleLayout requireModels() {
        if (!Files.isDirectory(root)) {
            throw new BundleException(root + ": model bundle directory does not exist");
        }
        List<String> missing = new ArrayList<>();
        List<Path> required = new ArrayList<>();
        texts.forEach(stage -> required.add(stage.encoder()));
        required.add(unet);
        required.add(vaeDecoder);
        for (Path file : required) {
            if (!Files.isRegularFile(file)) {
                missing.add(root.relativize(file).toString());
            }
        }
        if (!missing.isEmpty()) {
            throw new BundleException(root + ": missing model file(s) " + String.join(", ", missing)
                    + " (expected the diffusers/Optimum ONNX layout: text_encoder/ (and text_encoder_2/ for SDXL),"
                    + " unet/, vae_decoder/ each with " + MODEL_FILE + ")");
        }
        return this;
    }

    /** The optional config.json beside a model file. */
    public static Path configBeside(Path modelFile) {
        return modelFile.resolveSibling(CONFIG_FILE);
    }
}
