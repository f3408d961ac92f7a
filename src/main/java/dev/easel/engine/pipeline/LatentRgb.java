package dev.easel.engine.pipeline;

import dev.easel.engine.noise.PhiloxNoise;
import java.util.function.BiConsumer;

/**
 * A linear latent → RGB map ("latent2rgb"): {@code rgb[k] = Σ_c x0[c]·factors[c][k] + bias[k]} per
 * latent pixel, in [-1, 1] like the VAE's output, on scaled latents (as the UNet sees them). A cheap
 * preview: no model run, at latent resolution.
 *
 * <p>Factors belong to a latent space, that is to a VAE. The published factors of SD 1.x/2.x and
 * SDXL are only right for those VAEs, and a bundle cannot be told apart from its VAE by its configs
 * (this project's demo and test bundles are "StableDiffusionPipeline"s with 4-channel latents and
 * SD's scaling factor, over VAEs of their own). So {@link #of} fits factors to the bundle's own
 * decoder by least squares and keeps the published ones only when they describe that decoder about
 * as well: right for any bundle, and the known factors where they apply.
 *
 * @param factors [channels][3]
 * @param bias    [3]
 * @param source  where the factors come from, for logs and tests: {@code sd15}, {@code sdxl} or {@code fitted}
 */
public record LatentRgb(float[][] factors, float[] bias, String source) {

    /**
     * SD 1.x/2.x (scaling factor 0.18215), from ComfyUI's comfy/latent_formats.py, class SD15
     * (https://github.com/comfyanonymous/ComfyUI/blob/master/comfy/latent_formats.py), the factors
     * A1111's "Approx cheap" preview uses too; no bias.
     */
    static final LatentRgb SD15 = new LatentRgb(new float[][]{
            {0.3512f, 0.2297f, 0.3227f},
            {0.3250f, 0.4974f, 0.2350f},
            {-0.2829f, 0.1762f, 0.2721f},
            {-0.2120f, -0.2616f, -0.7177f}}, new float[]{0, 0, 0}, "sd15");

    /** SDXL (scaling factor 0.13025), from the same file, class SDXL, with its latent_rgb_factors_bias. */
    static final LatentRgb SDXL = new LatentRgb(new float[][]{
            {0.3651f, 0.4232f, 0.4341f},
            {-0.2533f, -0.0042f, 0.1068f},
            {0.1076f, 0.1111f, -0.0362f},
            {-0.3165f, -0.2492f, -0.2188f}}, new float[]{0.1084f, -0.0175f, -0.0011f}, "sdxl");

    /** Latent pixels the fit sees: enough for a stable fit of up to 16 channels, from few small decodes. */
    private static final int SAMPLES = 256;
    /**
     * Published factors are kept while their error on the probes is at most this many times the
     * fitted factors' (which are optimal there by construction): they were fitted on natural images'
     * latents, the probes are noise, so some excess is expected; another VAE's latent space gives
     * errors many times larger.
     */
    static final double PUBLISHED_TOLERANCE = 3.0;

    public LatentRgb {
        if (factors.length == 0 || bias.length != 3) {
            throw new IllegalArgumentException("latent2rgb needs [channels][3] factors and 3 biases");
        }
        for (float[] row : factors) {
            if (row.length != 3) {
                throw new IllegalArgumentException("latent2rgb factors must have 3 columns (R, G, B)");
            }
        }
    }

    public int channels() {
        return factors.length;
    }

    /**
     * Maps one image's latents to RGB.
     *
     * @param latents [.., C, h, w]; image {@code index} is read
     * @param out     [3, h, w], overwritten
     */
    public void apply(float[] latents, int index, int height, int width, float[] out) {
        int plane = height * width;
        int base = index * factors.length * plane;
        for (int k = 0; k < 3; k++) {
            int o = k * plane;
            for (int p = 0; p < plane; p++) {
                double sum = bias[k];
                for (int c = 0; c < factors.length; c++) {
                    sum += latents[base + c * plane + p] * factors[c][k];
                }
                out[o + p] = (float) sum;
            }
        }
    }

    /**
     * The factors for a model: the published ones of its family if they fit its decoder, else fitted.
     *
     * @param geometry the model's constants
     * @param probe    the latent size [height, width] the decoder is run at (8×8 unless its graph fixes another)
     * @param decode   decodes scaled latents [1, C, h, w] to pixels [3, h·f, w·f]
     */
    static LatentRgb of(ModelGeometry geometry, int[] probe, BiConsumer<float[], float[]> decode) {
        Probes probes = Probes.draw(geometry, probe[0], probe[1], decode);
        LatentRgb fitted = probes.fit();
        LatentRgb published = published(geometry);
        if (published != null && probes.error(published) <= PUBLISHED_TOLERANCE * probes.error(fitted)) {
            return published;
        }
        return fitted;
    }

    /** The published factors of the model's family by its latent space's constants; null for any other. */
    static LatentRgb published(ModelGeometry geometry) {
        if (geometry.latentChannels() != 4) {
            return null;
        }
        if (Math.abs(geometry.scalingFactor() - 0.18215f) < 1e-5f) {
            return SD15;
        }
        if (Math.abs(geometry.scalingFactor() - 0.13025f) < 1e-5f) {
            return SDXL;
        }
        return null;
    }

    /**
     * Decoded probes, reduced to one mean colour per latent pixel (the f×f block it decodes to).
     *
     * @param x [samples][C + 1]: the latent pixel's channels and a constant 1 (the bias)
     * @param y [samples][3]
     */
    record Probes(double[][] x, double[][] y) {

        static Probes draw(ModelGeometry g, int height, int width, BiConsumer<float[], float[]> decode) {
            int c = g.latentChannels();
            int f = g.vaeScaleFactor();
            int plane = height * width;
            int rowPixels = width * f;
            int imagePlane = height * f * rowPixels;
            int count = Math.max(1, (SAMPLES + plane - 1) / plane);
            float[] latent = new float[c * plane];
            float[] image = new float[3 * imagePlane];
            double[][] x = new double[count * plane][c + 1];
            double[][] y = new double[count * plane][3];
            // Fixed seed: the same model always gets the same factors.
            PhiloxNoise noise = new PhiloxNoise(0x1a7e472L);
            for (int n = 0; n < count; n++) {
                noise.fill(latent);
                decode.accept(latent, image);
                for (int p = 0; p < plane; p++) {
                    int row = n * plane + p;
                    for (int ch = 0; ch < c; ch++) {
                        x[row][ch] = latent[ch * plane + p];
                    }
                    x[row][c] = 1;
                    int py = p / width;
                    int px = p % width;
                    for (int k = 0; k < 3; k++) {
                        double sum = 0;
                        for (int dy = 0; dy < f; dy++) {
                            int start = k * imagePlane + (py * f + dy) * rowPixels + px * f;
                            for (int dx = 0; dx < f; dx++) {
                                sum += image[start + dx];
                            }
                        }
                        y[row][k] = sum / (f * f);
                    }
                }
            }
            return new Probes(x, y);
        }

        /** Least squares: the normal equations (XᵀX + εI) W = XᵀY, solved by Gaussian elimination. */
        LatentRgb fit() {
            int m = x[0].length;
            double[][] a = new double[m][m + 3];
            for (int s = 0; s < x.length; s++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < m; j++) {
                        a[i][j] += x[s][i] * x[s][j];
                    }
                    for (int k = 0; k < 3; k++) {
                        a[i][m + k] += x[s][i] * y[s][k];
                    }
                }
            }
            for (int i = 0; i < m; i++) {
                a[i][i] += 1e-6 * x.length; // a whisker of ridge: a dead channel must not make it singular
            }
            for (int col = 0; col < m; col++) {
                int pivot = col;
                for (int r = col + 1; r < m; r++) {
                    if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                        pivot = r;
                    }
                }
                double[] swap = a[col];
                a[col] = a[pivot];
                a[pivot] = swap;
                for (int r = 0; r < m; r++) {
                    if (r != col) {
                        double ratio = a[r][col] / a[col][col];
                        for (int j = col; j < m + 3; j++) {
                            a[r][j] -= ratio * a[col][j];
                        }
                    }
                }
            }
            int c = m - 1;
            float[][] factors = new float[c][3];
            float[] bias = new float[3];
            for (int k = 0; k < 3; k++) {
                for (int ch = 0; ch < c; ch++) {
                    factors[ch][k] = (float) (a[ch][m + k] / a[ch][ch]);
                }
                bias[k] = (float) (a[c][m + k] / a[c][c]);
            }
            return new LatentRgb(factors, bias, "fitted");
        }

        /** Mean squared error of {@code map} on the probes. */
        double error(LatentRgb map) {
            double sum = 0;
            int c = map.channels();
            for (int s = 0; s < x.length; s++) {
                for (int k = 0; k < 3; k++) {
                    double v = map.bias()[k];
                    for (int ch = 0; ch < c; ch++) {
                        v += x[s][ch] * map.factors()[ch][k];
                    }
                    double d = v - y[s][k];
                    sum += d * d;
                }
            }
            return sum / (x.length * 3.0);
        }
    }
}
