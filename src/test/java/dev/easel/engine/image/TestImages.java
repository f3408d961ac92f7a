package dev.easel.engine.image;

import java.util.Random;

/** Pictures for image tests and benchmarks. */
public final class TestImages {

    private TestImages() {
    }

    /** Smooth colour gradients plus Gaussian noise of σ = 4 levels, like a generated picture. */
    public static RgbImage generatedLooking(int w, int h, long seed) {
        Random random = new Random(seed);
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    double v = 128 + 60 * Math.sin(x * 0.013 + c) + 50 * Math.cos(y * 0.021 - c * 0.7)
                            + 20 * Math.sin((x + y) * 0.05) + random.nextGaussian() * 4;
                    rgb[(y * w + x) * 3 + c] = (byte) Math.max(0, Math.min(255, Math.round(v)));
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }
}
