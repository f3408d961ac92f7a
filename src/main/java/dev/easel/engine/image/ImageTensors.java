package dev.easel.engine.image;

/**
 * Conversions between images and model tensors with Stable Diffusion's (diffusers') conventions:
 * pixel tensors are NCHW floats in [-1, 1], masks are binarized at 0.5 with white meaning
 * "repaint". Sizes must match exactly: nothing is resized here, a mismatch is an
 * {@link ImageException} naming both sizes. The loops allocate nothing beyond a returned image.
 */
public final class ImageTensors {

    private ImageTensors() {
    }

    /**
     * The {@code index}-th image of a VAE decoder output.
     *
     * @param nchw {@code [N][3][height][width]} floats in [-1, 1], N &gt; index
     */
    public static RgbImage toImage(float[] nchw, int index, int width, int height) {
        byte[] rgb = new byte[checkedPixels(width, height) * 3];
        toImage(nchw, index, width, height, rgb);
        return new RgbImage(width, height, rgb);
    }

    /**
     * Writes the {@code index}-th image of a VAE decoder output into a reused buffer, as diffusers
     * does: {@code v = clamp(x / 2 + 0.5, 0, 1)} in float32, then {@code round(v * 255)} with
     * NumPy's round-half-to-even. NaN becomes 0.
     *
     * @param nchw {@code [N][3][height][width]} floats in [-1, 1], N &gt; index
     * @param rgb  {@code [height][width][3]} output, exactly {@code width * height * 3} bytes
     */
    public static void toImage(float[] nchw, int index, int width, int height, byte[] rgb) {
        int plane = checkedPixels(width, height);
        if (index < 0 || (long) (index + 1) * 3 * plane > nchw.length) {
            throw new ImageException("tensor of " + nchw.length + " floats has no image " + index + " of 3×"
                    + height + "×" + width);
        }
        if (rgb.length != plane * 3) {
            throw new ImageException("output buffer of " + rgb.length + " bytes does not fit a " + width + "×"
                    + height + " RGB image (" + plane * 3 + " bytes)");
        }
        int base = index * 3 * plane;
        for (int c = 0; c < 3; c++) {
            int src = base + c * plane;
            for (int i = 0, p = c; i < plane; i++, p += 3) {
                float v = nchw[src + i] / 2f + 0.5f;
                // Written so that NaN fails the first test and becomes 0.
                v = v >= 0f ? Math.min(v, 1f) : 0f;
                rgb[p] = (byte) (int) Math.rint(v * 255f);
            }
        }
    }

    /**
     * Pixels to a VAE encoder input: {@code x / 255 * 2 - 1} in float32.
     *
     * @param out {@code [3][height][width]} written from {@code offset} (one image of an NCHW batch)
     */
    public static void toTensor(RgbImage image, float[] out, int offset) {
        int plane = image.width() * image.height();
        checkOutput(out, offset, 3 * plane, "3×" + image.height() + "×" + image.width());
        byte[] rgb = image.rgb();
        for (int c = 0; c < 3; c++) {
            int dst = offset + c * plane;
            for (int i = 0, p = c; i < plane; i++, p += 3) {
                out[dst + i] = (rgb[p] & 0xFF) / 255f * 2f - 1f;
            }
        }
    }

    /**
     * An inpainting mask at latent resolution, as diffusers' inpaint pipeline builds it: binarize
     * (a sample of at least 128, i.e. {@code v / 255 >= 0.5}, becomes 1 = repaint; the rest 0), then
     * nearest-neighbour downsample ({@code F.interpolate} mode "nearest": latent cell (i, j) takes
     * mask pixel (i * f, j * f)). The mask must be the latent size times one whole factor f (the
     * VAE's 8), the same on both axes.
     *
     * @param mask the mask at image size (luma, or alpha, chosen by the caller)
     * @param out  {@code [latentHeight][latentWidth]} written from {@code offset} (a {@code [1,1,h,w]} tensor)
     */
    public static void maskToLatent(GrayImage mask, int latentWidth, int latentHeight, float[] out, int offset) {
        int factor = latentWidth > 0 && latentHeight > 0 ? mask.width() / latentWidth : 0;
        if (factor == 0 || mask.width() != latentWidth * factor || mask.height() != latentHeight * factor) {
            throw new ImageException("mask is " + mask.width() + "×" + mask.height() + ", which is not latent size "
                    + latentWidth + "×" + latentHeight + " times one whole factor");
        }
        checkOutput(out, offset, latentWidth * latentHeight, latentHeight + "×" + latentWidth);
        byte[] pixels = mask.pixels();
        int o = offset;
        for (int y = 0; y < latentHeight; y++) {
            int row = y * factor * mask.width();
            for (int x = 0; x < latentWidth; x++) {
                out[o++] = (pixels[row + x * factor] & 0xFF) >= 128 ? 1f : 0f;
            }
        }
    }

    /**
     * The masked image the inpainting UNet is conditioned on (diffusers:
     * {@code image * (mask < 0.5)}): the image as a [-1, 1] tensor where the mask keeps it, 0 where
     * the mask asks for repainting (sample of at least 128).
     *
     * @param out {@code [3][height][width]} written from {@code offset}
     */
    public static void maskToPixels(RgbImage image, GrayImage mask, float[] out, int offset) {
        if (mask.width() != image.width() || mask.height() != image.height()) {
            throw new ImageException("mask is " + mask.width() + "×" + mask.height() + " but the image is "
                    + image.width() + "×" + image.height());
        }
        toTensor(image, out, offset);
        int plane = image.width() * image.height();
        byte[] pixels = mask.pixels();
        for (int i = 0; i < plane; i++) {
            if ((pixels[i] & 0xFF) >= 128) {
                out[offset + i] = 0f;
                out[offset + plane + i] = 0f;
                out[offset + 2 * plane + i] = 0f;
            }
        }
    }

    private static int checkedPixels(int width, int height) {
        if (width <= 0 || height <= 0 || (long) width * height * 3 > Integer.MAX_VALUE) {
            throw new ImageException("invalid image size " + width + "×" + height);
        }
        return width * height;
    }

    private static void checkOutput(float[] out, int offset, int needed, String shape) {
        if (offset < 0 || (long) offset + needed > out.length) {
            throw new ImageException("output of " + out.length + " floats has no room for " + shape + " ("
                    + needed + " floats) at offset " + offset);
        }
    }
}
