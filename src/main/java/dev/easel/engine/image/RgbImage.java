package dev.easel.engine.image;

import java.util.Arrays;

/**
 * An 8-bit RGB image.
 *
 * @param width  pixels per row, &gt; 0
 * @param height rows, &gt; 0
 * @param rgb    interleaved samples, row-major: {@code [height][width][3]} flattened, so pixel
 *               (x, y) channel c is {@code rgb[(y * width + x) * 3 + c]}; not copied
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive: " + width + "×" + height);
        }
        if (rgb == null || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("an RGB image of " + width + "×" + height + " needs "
                    + (long) width * height * 3 + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** Compares pixel content, not array identity. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && width == other.width && height == other.height
                && Arrays.equals(rgb, other.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "×" + height + "]";
    }
}
