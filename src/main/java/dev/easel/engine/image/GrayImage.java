package dev.easel.engine.image;

import java.util.Arrays;

/**
 * An 8-bit single-channel image: a grayscale picture, the luma of a colour one, or an alpha
 * channel. Inpainting masks arrive in this form (255 = repaint).
 *
 * @param width  pixels per row, &gt; 0
 * @param height rows, &gt; 0
 * @param pixels samples, row-major: {@code [height][width]} flattened; not copied
 */
public record GrayImage(int width, int height, byte[] pixels) {

    public GrayImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive: " + width + "×" + height);
        }
        if (pixels == null || pixels.length != (long) width * height) {
            throw new IllegalArgumentException("a gray image of " + width + "×" + height + " needs "
                    + (long) width * height + " bytes, got " + (pixels == null ? "null" : pixels.length));
        }
    }

    /**
     * The luma of a colour image, with PIL's {@code convert("L")} integer formula (ITU-R 601-2:
     * {@code (R*19595 + G*38470 + B*7471 + 0x8000) >> 16}), which is what diffusers' mask processor
     * sees when it is handed an RGB mask.
     */
    public static GrayImage luma(RgbImage image) {
        byte[] rgb = image.rgb();
        byte[] out = new byte[image.width() * image.height()];
        for (int i = 0, p = 0; i < out.length; i++, p += 3) {
            int r = rgb[p] & 0xFF;
            int g = rgb[p + 1] & 0xFF;
            int b = rgb[p + 2] & 0xFF;
            out[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
        return new GrayImage(image.width(), image.height(), out);
    }

    /** Compares pixel content, not array identity. */
    @Override
    public boolean equals(Object o) {
        return o instanceof GrayImage other && width == other.width && height == other.height
                && Arrays.equals(pixels, other.pixels);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(pixels);
    }

    @Override
    public String toString() {
        return "GrayImage[" + width + "×" + height + "]";
    }
}
