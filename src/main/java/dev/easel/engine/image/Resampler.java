package dev.easel.engine.image;

import dev.easel.engine.bundle.ClipPreprocessorConfig.Resample;

/**
 * Separable resizing of float planes with PIL's filters and PIL's geometry ({@code Image.resize}):
 * output pixel {@code i} is centred at {@code (i + 0.5) · in/out} in the input, and when shrinking
 * the filter is stretched by the scale (antialiasing), so bicubic matches what CLIP's preprocessing
 * (PIL bicubic) computes, up to PIL's 8-bit rounding between the passes, which is not done here.
 * NEAREST takes the input pixel under the output centre, as PIL.
 */
public final class Resampler {

    private Resampler() {
    }

    /** Precomputed weights of one axis: for output {@code i}, inputs {@code start[i] ..} with {@code weights}. */
    record Axis(int[] start, int[] count, float[][] weights) {
    }

    /**
     * Resizes {@code planes} planes of {@code inH × inW} (row-major, one after another from
     * {@code inOffset}) to {@code outH × outW}, written to {@code out} from {@code outOffset}.
     */
    public static void resize(float[] in, int inOffset, int inW, int inH, int planes, Resample filter, float[] out,
                              int outOffset, int outW, int outH) {
        if (inW == outW && inH == outH) {
            System.arraycopy(in, inOffset, out, outOffset, planes * inW * inH);
            return;
        }
        Axis horizontal = axis(inW, outW, filter);
        Axis vertical = axis(inH, outH, filter);
        float[] rows = new float[inH * outW];
        for (int p = 0; p < planes; p++) {
            int src = inOffset + p * inW * inH;
            for (int y = 0; y < inH; y++) {
                for (int x = 0; x < outW; x++) {
                    float[] w = horizontal.weights()[x];
                    int s = src + y * inW + horizontal.start()[x];
                    double sum = 0;
                    for (int k = 0; k < horizontal.count()[x]; k++) {
                        sum += w[k] * in[s + k];
                    }
                    rows[y * outW + x] = (float) sum;
                }
            }
            int dst = outOffset + p * outW * outH;
            for (int y = 0; y < outH; y++) {
                float[] w = vertical.weights()[y];
                int s = vertical.start()[y];
                for (int x = 0; x < outW; x++) {
                    double sum = 0;
                    for (int k = 0; k < vertical.count()[y]; k++) {
                        sum += w[k] * rows[(s + k) * outW + x];
                    }
                    out[dst + y * outW + x] = (float) sum;
                }
            }
        }
    }

    /** PIL's precompute_coeffs: filter support stretched by the scale when shrinking, weights normalised. */
    static Axis axis(int in, int out, Resample filter) {
        int[] start = new int[out];
        int[] count = new int[out];
        float[][] weights = new float[out][];
        double scale = (double) in / out;
        if (filter == Resample.NEAREST) {
            for (int i = 0; i < out; i++) {
                start[i] = Math.min(in - 1, (int) ((i + 0.5) * scale));
                count[i] = 1;
                weights[i] = new float[] {1f};
            }
            return new Axis(start, count, weights);
        }
        double filterScale = Math.max(scale, 1.0);
        double support = support(filter) * filterScale;
        for (int i = 0; i < out; i++) {
            double center = (i + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), in);
            double[] w = new double[Math.max(0, max - min)];
            double total = 0;
            for (int k = 0; k < w.length; k++) {
                w[k] = kernel(filter, (k + min - center + 0.5) / filterScale);
                total += w[k];
            }
            float[] normalised = new float[w.length];
            for (int k = 0; k < w.length; k++) {
                normalised[k] = (float) (total == 0 ? 0 : w[k] / total);
            }
            start[i] = min;
            count[i] = w.length;
            weights[i] = normalised;
        }
        return new Axis(start, count, weights);
    }

    private static double support(Resample filter) {
        return switch (filter) {
            case BOX -> 0.5;
            case BILINEAR, HAMMING -> 1;
            case BICUBIC -> 2;
            case LANCZOS -> 3;
            case NEAREST -> 0;
        };
    }

    /** PIL's filter functions (bicubic with a = -0.5). */
    private static double kernel(Resample filter, double x) {
        double a = Math.abs(x);
        return switch (filter) {
            case BOX -> x > -0.5 && x <= 0.5 ? 1 : 0;
            case BILINEAR -> a < 1 ? 1 - a : 0;
            case HAMMING -> a < 1 ? sinc(x) * (0.54 + 0.46 * Math.cos(Math.PI * x)) : 0;
            case BICUBIC -> {
                double c = -0.5;
                if (a < 1) {
                    yield ((c + 2) * a - (c + 3)) * a * a + 1;
                }
                yield a < 2 ? (((a - 5) * a + 8) * a - 4) * c : 0;
            }
            case LANCZOS -> a < 3 ? sinc(x) * sinc(x / 3) : 0;
            case NEAREST -> 1;
        };
    }

    private static double sinc(double x) {
        if (x == 0) {
            return 1;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }
}
