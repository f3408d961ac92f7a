package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.image.RgbImage;

/** Assertions on generated pictures. */
final class Pixels {

    private Pixels() {
    }

    /** A decoder value in [-1, 1] as an 8-bit pixel, the way the pipeline converts it. */
    static int toByte(float value) {
        double v = Math.min(1, Math.max(0, value / 2 + 0.5));
        return (int) Math.rint(v * 255);
    }

    /** Every pixel of the region [x0, x1) × [y0, y1) is {@code rgb} (decoder values) within {@code tolerance}. */
    static void assertRegion(RgbImage image, int x0, int y0, int x1, int y1, float[] rgb, int tolerance) {
        int[] expected = {toByte(rgb[0]), toByte(rgb[1]), toByte(rgb[2])};
        byte[] data = image.rgb();
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                for (int k = 0; k < 3; k++) {
                    int got = data[(y * image.width() + x) * 3 + k] & 0xFF;
                    int want = expected[k];
                    int px = x;
                    int py = y;
                    int channel = k;
                    assertTrue(Math.abs(got - want) <= tolerance, () -> "pixel (" + px + "," + py + ") channel "
                            + channel + ": got " + got + ", expected " + want + " ± " + tolerance);
                }
            }
        }
    }

    static void assertSolid(RgbImage image, float[] rgb, int tolerance) {
        assertRegion(image, 0, 0, image.width(), image.height(), rgb, tolerance);
    }

    static RgbImage solid(int width, int height, int r, int g, int b) {
        byte[] data = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) {
            data[3 * i] = (byte) r;
            data[3 * i + 1] = (byte) g;
            data[3 * i + 2] = (byte) b;
        }
        return new RgbImage(width, height, data);
    }

    /** The pixel values in [-1, 1] the pipeline feeds the VAE encoder for an 8-bit colour. */
    static float[] normalized(int r, int g, int b) {
        return new float[] {r / 255f * 2 - 1, g / 255f * 2 - 1, b / 255f * 2 - 1};
    }
}
