package dev.easel.engine.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Where the parts of a CLIP model exported to ONNX live, in either layout:
 * <ul>
 *   <li>split: {@code text_model.onnx} and {@code vision_model.onnx} (or {@code text_model/model.onnx}
 *       and {@code vision_model/model.onnx}), CLIPTextModelWithProjection and
 *       CLIPVisionModelWithProjection;</li>
 *   <li>combined: {@code model.onnx}, Optimum/transformers' CLIPModel export (input_ids,
 *       attention_mask, pixel_values → text_embeds, image_embeds, logits).</li>
 * </ul>
 * Beside them {@code preprocessor_config.json} (required) and {@code config.json} (optional). The
 * tokenizer is the folder's own {@code tokenizer/}, else vocab.json/merges.txt in the folder itself
 * (as Hugging Face CLIP repositories ship them), else the Stable Diffusion bundle's tokenizer.
 *
 * @param root      the CLIP folder (a bundle's {@code clip/}, or a separate directory)
 * @param models    the ONNX files
 * @param tokenizer directory holding vocab.json and merges.txt
 */
public record ClipLayout(Path root, Models models, Path preprocessorConfig, Optional<Path> config, Path tokenizer) {

    public static final String FOLDER = "clip";
    public static final String PREPROCESSOR_CONFIG = "preprocessor_config.json";

    /** The ONNX model files of one layout. */
    public sealed interface Models permits Split, Combined {
    }

    public record Split(Path textModel, Path visionModel) implements Models {
    }

    public record Combined(Path model) implements Models {
    }

    /** The CLIP folder of a Stable Diffusion bundle, if it has one. */
    public static Optional<Path> inBundle(Path bundleRoot) {
        Path dir = bundleRoot.resolve(FOLDER);
        return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
    }

    /**
     * Resolves the layout of {@code dir}, failing with one message that names what is missing.
     *
     * @param fallbackTokenizer the Stable Diffusion bundle's tokenizer folder, used when the CLIP
     *                          folder has no tokenizer of its own
     */
    public static ClipLayout of(Path dir, Optional<Path> fallbackTokenizer) {
        if (!Files.isDirectory(dir)) {
            throw new BundleException(dir + ": CLIP model directory does not exist");
        }
        Models models = models(dir);
        Path preprocessor = dir.resolve(PREPROCESSOR_CONFIG);
        if (!Files.isRegularFile(preprocessor)) {
            throw BundleException.inFile(preprocessor, "file is missing; a CLIP model needs its image preprocessor"
                    + " config (size, crop_size, image_mean, image_std, resample)");
        }
        Path config = dir.resolve(BundleLayout.CONFIG_FILE);
        Path tokenizer;
        if (Files.isRegularFile(dir.resolve("tokenizer").resolve("vocab.json"))) {
            tokenizer = dir.resolve("tokenizer");
        } else if (Files.isRegularFile(dir.resolve("vocab.json"))) {
            tokenizer = dir;
        } else {
            tokenizer = fallbackTokenizer.orElseThrow(() -> new BundleException(dir + ": no CLIP tokenizer: expected"
                    + " tokenizer/vocab.json or vocab.json (with merges.txt) in the CLIP folder"));
        }
        return new ClipLayout(dir, models, preprocessor, Files.isRegularFile(config) ? Optional.of(config)
                : Optional.empty(), tokenizer);
    }

    private static Models models(Path dir) {
        Optional<Path> text = first(dir.resolve("text_model.onnx"), dir.resolve("text_model").resolve(BundleLayout.MODEL_FILE));
        Optional<Path> vision = first(dir.resolve("vision_model.onnx"),
                dir.resolve("vision_model").resolve(BundleLayout.MODEL_FILE));
        if (text.isPresent() && vision.isPresent()) {
            return new Split(text.get(), vision.get());
        }
        Path combined = dir.resolve(BundleLayout.MODEL_FILE);
        if (text.isEmpty() && vision.isEmpty() && Files.isRegularFile(combined)) {
            return new Combined(combined);
        }
        String found = text.map(p -> "found " + dir.relativize(p) + " but no vision_model.onnx")
                .or(() -> vision.map(p -> "found " + dir.relativize(p) + " but no text_model.onnx"))
                .orElse("found neither");
        throw new BundleException(dir + ": expected a CLIP model as text_model.onnx + vision_model.onnx (split layout)"
                + " or model.onnx (Optimum's combined CLIPModel export); " + found);
    }

    private static Optional<Path> first(Path... candidates) {
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** config.json's projection_dim, if it says. */
    public OptionalInt projectionDim() {
        return config.map(file -> Json.optionalInt(Json.readObject(file), "projection_dim", file))
                .orElse(OptionalInt.empty());
    }

    /**
     * The text tower's context length from config.json: {@code text_config.max_position_embeddings}
     * (CLIPConfig) or a top-level {@code max_position_embeddings} (CLIPTextConfig), if it says.
     */
    public OptionalInt maxPositionEmbeddings() {
        if (config.isEmpty()) {
            return OptionalInt.empty();
        }
        Path file = config.get();
        JsonNode root = Json.readObject(file);
        JsonNode text = root.path("text_config");
        if (text.isObject() && text.hasNonNull("max_position_embeddings")) {
            return Json.optionalInt(text, "max_position_embeddings", file);
        }
        return Json.optionalInt(root, "max_position_embeddings", file);
    }
}
