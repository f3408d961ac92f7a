package dev.easel.engine.image;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A decoded PNG: its pixels as 8-bit RGB, its alpha channel if it has one, and its text metadata.
 * Sources with more than 8 bits per sample are rounded to 8, sources with fewer scaled up, and
 * palette images expanded.
 */
public final class PngImage {

    private final RgbImage rgb;
    private final GrayImage alpha;
    private final boolean grayscale;
    private final Map<String, String> text;

    PngImage(RgbImage rgb, GrayImage alpha, boolean grayscale, Map<String, String> text) {
        this.rgb = rgb;
        this.alpha = alpha;
        this.grayscale = grayscale;
        this.text = Collections.unmodifiableMap(new LinkedHashMap<>(text));
    }

    public int width() {
        return rgb.width();
    }

    public int height() {
        return rgb.height();
    }

    /** The colour pixels; for a grayscale source all three channels are equal. */
    public RgbImage rgb() {
        return rgb;
    }

    /**
     * One channel: the samples themselves for a grayscale source, otherwise the luma of
     * {@link #rgb()} (see {@link GrayImage#luma}). A new image on each call.
     */
    public GrayImage gray() {
        if (!grayscale) {
            return GrayImage.luma(rgb);
        }
        byte[] src = rgb.rgb();
        byte[] out = new byte[width() * height()];
        for (int i = 0; i < out.length; i++) {
            out[i] = src[i * 3];
        }
        return new GrayImage(width(), height(), out);
    }

    /**
     * The alpha channel (255 = opaque) of a gray+alpha or RGBA source, or one derived from a
     * {@code tRNS} chunk; empty for an image without transparency.
     */
    public Optional<GrayImage> alpha() {
        return Optional.ofNullable(alpha);
    }

    /** Whether the source was grayscale (colour type 0 or 4). */
    public boolean grayscale() {
        return grayscale;
    }

    /** The tEXt, zTXt and iTXt entries in file order; a repeated keyword keeps its last value. */
    public Map<String, String> text() {
        return text;
    }
}
