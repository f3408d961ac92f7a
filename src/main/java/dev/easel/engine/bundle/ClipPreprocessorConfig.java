package dev.easel.engine.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A CLIP image processor's settings, from Hugging Face's {@code preprocessor_config.json}
 * ({@code CLIPImageProcessor}, and the older {@code CLIPFeatureExtractor} files of OpenAI's
 * releases): resize, center crop, rescale, normalize. Read liberally: {@code size} as an integer
 * (the shortest edge, as CLIP treats it), {@code {"shortest_edge": n}} or {@code {"height", "width"}};
 * {@code crop_size} as an integer or {@code {"height", "width"}}; {@code resample} as a PIL filter
 * code or name. Absent keys take CLIPImageProcessor's defaults (224, bicubic, OpenAI's mean/std).
 *
 * @param resize        what the resize step does
 * @param resample      the resize filter
 * @param cropHeight    center crop height; the model's input height (the resize size when not cropping)
 * @param cropWidth     center crop width
 * @param pixelScale    what a pixel of value 1.0 (255 in the 8-bit image) becomes before normalizing:
 *                      255 × rescale_factor, or 255 without rescaling
 * @param mean          per-channel mean subtracted when normalizing (0 when not normalizing)
 * @param std           per-channel std divided by when normalizing (1 when not normalizing)
 */
public record ClipPreprocessorConfig(Resize resize, Resample resample, boolean centerCrop, int cropHeight,
                                     int cropWidth, double pixelScale, float[] mean, float[] std) {

    /** OpenAI CLIP's normalization, CLIPImageProcessor's default. */
    static final float[] OPENAI_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] OPENAI_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** The resize step. */
    public sealed interface Resize permits ShortestEdge, Exact, NoResize {
    }

    /** Scale so the shorter side is {@code size}, keeping the aspect ratio (the longer side truncated, as HF). */
    public record ShortestEdge(int size) implements Resize {
    }

    /** Scale to exactly {@code height} × {@code width}. */
    public record Exact(int height, int width) implements Resize {
    }

    /** {@code do_resize: false}. */
    public record NoResize() implements Resize {
    }

    /** PIL's resampling filters, by their PIL codes. */
    public enum Resample {
        NEAREST(0), LANCZOS(1), BILINEAR(2), BICUBIC(3), BOX(4), HAMMING(5);

        private final int pilCode;

        Resample(int pilCode) {
            this.pilCode = pilCode;
        }

        static Resample of(JsonNode node, Path file) {
            if (node.isIntegralNumber()) {
                for (Resample r : values()) {
                    if (r.pilCode == node.intValue()) {
                        return r;
                    }
                }
            } else if (node.isTextual()) {
                String name = node.asText().toUpperCase(Locale.ROOT).replace("PILIMAGERESAMPLING.", "");
                for (Resample r : values()) {
                    if (r.name().equals(name)) {
                        return r;
                    }
                }
            }
            throw BundleException.inFile(file, "key 'resample' must be a PIL filter code 0-5 or a name (nearest,"
                    + " lanczos, bilinear, bicubic, box, hamming), found " + node);
        }
    }

    /** Reads {@code preprocessor_config.json}; a missing file is an error naming it. */
    public static ClipPreprocessorConfig read(Path file) {
        JsonNode root = Json.readObject(file);
        boolean doResize = bool(root, "do_resize", true, file);
        Resize resize = doResize ? resize(root.get("size"), file) : new NoResize();
        Resample resample = root.hasNonNull("resample") ? Resample.of(root.get("resample"), file) : Resample.BICUBIC;
        boolean crop = bool(root, "do_center_crop", true, file);
        int[] cropSize;
        if (crop) {
            cropSize = size(root.get("crop_size"), 224, file, "crop_size");
        } else if (resize instanceof Exact exact) {
            cropSize = new int[] {exact.height(), exact.width()};
        } else {
            throw BundleException.inFile(file, "without do_center_crop the image size is not fixed; Easel needs"
                    + " do_center_crop true or size {\"height\", \"width\"}");
        }
        if (resize instanceof ShortestEdge edge && (cropSize[0] > edge.size() || cropSize[1] > edge.size())) {
            throw BundleException.inFile(file, "crop_size " + cropSize[0] + "x" + cropSize[1]
                    + " is larger than the resized shortest edge " + edge.size());
        }
        if (resize instanceof Exact exact && (cropSize[0] > exact.height() || cropSize[1] > exact.width())) {
            throw BundleException.inFile(file, "crop_size " + cropSize[0] + "x" + cropSize[1]
                    + " is larger than the resized image " + exact.height() + "x" + exact.width());
        }
        boolean rescale = bool(root, "do_rescale", true, file);
        double factor = root.hasNonNull("rescale_factor") ? positive(root.get("rescale_factor"), "rescale_factor", file)
                : 1 / 255.0;
        boolean normalize = bool(root, "do_normalize", true, file);
        float[] mean = normalize ? triple(root.get("image_mean"), OPENAI_MEAN, "image_mean", file, false) : new float[3];
        float[] std = normalize ? triple(root.get("image_std"), OPENAI_STD, "image_std", file, true)
                : new float[] {1, 1, 1};
        return new ClipPreprocessorConfig(resize, resample, crop, cropSize[0], cropSize[1],
                rescale ? 255 * factor : 255, mean, std);
    }

    private static Resize resize(JsonNode size, Path file) {
        if (size == null || size.isNull()) {
            return new ShortestEdge(224);
        }
        if (size.isObject() && size.has("shortest_edge")) {
            return new ShortestEdge(positiveInt(size.get("shortest_edge"), "size.shortest_edge", file));
        }
        if (size.isObject()) {
            int[] hw = size(size, 224, file, "size");
            return new Exact(hw[0], hw[1]);
        }
        return new ShortestEdge(positiveInt(size, "size", file));
    }

    /** An integer (square) or {"height", "width"}. */
    private static int[] size(JsonNode node, int fallback, Path file, String key) {
        if (node == null || node.isNull()) {
            return new int[] {fallback, fallback};
        }
        if (node.isObject()) {
            if (!node.has("height") || !node.has("width")) {
                throw BundleException.inFile(file, "key '" + key + "' must be an integer or an object with"
                        + " \"height\" and \"width\", found " + node);
            }
            return new int[] {positiveInt(node.get("height"), key + ".height", file),
                positiveInt(node.get("width"), key + ".width", file)};
        }
        int side = positiveInt(node, key, file);
        return new int[] {side, side};
    }

    private static int positiveInt(JsonNode node, String key, Path file) {
        if (node == null || !node.isIntegralNumber() || node.intValue() <= 0 || node.intValue() > 8192) {
            throw BundleException.inFile(file, "key '" + key + "' must be a positive integer (at most 8192), found "
                    + node);
        }
        return node.intValue();
    }

    private static double positive(JsonNode node, String key, Path file) {
        if (!node.isNumber() || node.doubleValue() <= 0) {
            throw BundleException.inFile(file, "key '" + key + "' must be a positive number, found " + node);
        }
        return node.doubleValue();
    }

    private static boolean bool(JsonNode root, String key, boolean fallback, Path file) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw BundleException.inFile(file, "key '" + key + "' must be true or false, found " + node);
        }
        return node.booleanValue();
    }

    /** Three numbers (one per RGB channel); a single number applies to all three. */
    private static float[] triple(JsonNode node, float[] fallback, String key, Path file, boolean positive) {
        if (node == null || node.isNull()) {
            return fallback.clone();
        }
        float[] out = new float[3];
        if (node.isNumber()) {
            java.util.Arrays.fill(out, node.floatValue());
        } else if (node.isArray() && node.size() == 3 && allNumbers(node)) {
            for (int c = 0; c < 3; c++) {
                out[c] = node.get(c).floatValue();
            }
        } else {
            throw BundleException.inFile(file, "key '" + key + "' must be three numbers (R, G, B), found " + node);
        }
        for (float v : out) {
            if (positive && !(v > 0)) {
                throw BundleException.inFile(file, "key '" + key + "' must be positive, found " + node);
            }
        }
        return out;
    }

    private static boolean allNumbers(JsonNode array) {
        for (JsonNode n : array) {
            if (!n.isNumber()) {
                return false;
            }
        }
        return true;
    }
}
