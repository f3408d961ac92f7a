package dev.easel.engine.image;

import dev.easel.engine.bundle.ClipPreprocessorConfig;
import dev.easel.engine.bundle.ClipPreprocessorConfig.Exact;
import dev.easel.engine.bundle.ClipPreprocessorConfig.NoResize;
import dev.easel.engine.bundle.ClipPreprocessorConfig.ShortestEdge;

/**
 * CLIP's image preprocessing (Hugging Face's CLIPImageProcessor) on float images: resize with the
 * configured filter ({@link Resampler}), center crop, rescale, normalize. Input is RGB in [0, 1]
 * ({@code [3, H, W]}); output the model's {@code pixel_values} for one image,
 * {@code [3, cropHeight, cropWidth]}. HF resizes 8-bit images and so rounds to 8 bits after the
 * resize; this does not (differences below 1/255 per pixel before normalizing).
 */
public final class ClipImageProcessor {

    private final ClipPreprocessorConfig config;

    public ClipImageProcessor(ClipPreprocessorConfig config) {
        this.config = config;
    }

    public ClipPreprocessorConfig config() {
        return config;
    }

    public int height() {
        return config.cropHeight();
    }

    public int width() {
        return config.cropWidth();
    }

    /** Values per processed image: 3 × crop height × crop width. */
    public int size() {
        return 3 * config.cropHeight() * config.cropWidth();
    }

    /** The size the resize step produces for a {@code width × height} image: {width, height}. */
    int[] resizedSize(int width, int height) {
        if (config.resize() instanceof ShortestEdge edge) {
            // transformers' get_resize_output_image_size(default_to_square=False): int(size * long / short).
            int shortSide = Math.min(width, height);
            int longSide = (int) ((long) edge.size() * Math.max(width, height) / shortSide);
            return width <= height ? new int[] {edge.size(), longSide} : new int[] {longSide, edge.size()};
        }
        if (config.resize() instanceof Exact exact) {
            return new int[] {exact.width(), exact.height()};
        }
        return new int[] {width, height};
    }

    /**
     * Processes one image.
     *
     * @param rgb01 {@code [3, height, width]} in [0, 1], from {@code offset}
     * @param out   {@code [3, cropHeight, cropWidth]} written from {@code outOffset}
     */
    public void process(float[] rgb01, int offset, int width, int height, float[] out, int outOffset) {
        int[] resized = resizedSize(width, height);
        int rw = resized[0];
        int rh = resized[1];
        int cw = config.cropWidth();
        int ch = config.cropHeight();
        if (config.resize() instanceof NoResize && (rw < cw || rh < ch)) {
            throw new ImageException("image is " + width + "×" + height + ", smaller than CLIP's crop " + cw + "×" + ch);
        }
        float[] scaled = new float[3 * rw * rh];
        Resampler.resize(rgb01, offset, width, height, 3, config.resample(), scaled, 0, rw, rh);
        // transformers' center_crop: top = (height - crop_height) // 2, likewise left.
        int top = (rh - ch) / 2;
        int left = (rw - cw) / 2;
        double pixelScale = config.pixelScale();
        for (int c = 0; c < 3; c++) {
            float mean = config.mean()[c];
            float std = config.std()[c];
            int src = c * rw * rh;
            int dst = outOffset + c * cw * ch;
            for (int y = 0; y < ch; y++) {
                for (int x = 0; x < cw; x++) {
                    double v = scaled[src + (y + top) * rw + x + left] * pixelScale;
                    out[dst + y * cw + x] = (float) ((v - mean) / std);
                }
            }
        }
    }

    /** An 8-bit image as {@code [3, H, W]} floats in [0, 1], as CLIP's processor sees a PNG. */
    public static float[] unitPixels(RgbImage image) {
        int plane = image.width() * image.height();
        float[] out = new float[3 * plane];
        byte[] rgb = image.rgb();
        for (int c = 0; c < 3; c++) {
            for (int i = 0, p = c; i < plane; i++, p += 3) {
                out[c * plane + i] = (rgb[p] & 0xFF) / 255f;
            }
        }
        return out;
    }

    /** A VAE decoder image ({@code [3, H, W]} in about [-1, 1]) as [0, 1] floats, clamped as diffusers' output. */
    public static void decodedToUnit(float[] decoded, int offset, int length, float[] out, int outOffset) {
        for (int i = 0; i < length; i++) {
            float v = decoded[offset + i] / 2f + 0.5f;
            out[outOffset + i] = v >= 0f ? Math.min(v, 1f) : 0f;
        }
    }
}
