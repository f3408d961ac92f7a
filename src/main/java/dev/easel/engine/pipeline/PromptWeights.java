package dev.easel.engine.pipeline;

import java.util.Objects;

/**
 * AUTOMATIC1111's "Original" emphasis ({@code modules/sd_emphasis.py}, run from
 * {@code sd_hijack_clip.py}'s {@code process_tokens}): each token's hidden state is multiplied by
 * its weight, then the whole chunk is rescaled so that its mean is what it was before
 * ({@code original_mean = z.mean(); z = z * weights; new_mean = z.mean(); z *= original_mean / new_mean}).
 * Rescaling keeps the overall magnitude the UNet was trained on while shifting it between tokens.
 */
public final class PromptWeights {

    private PromptWeights() {
    }

    /**
     * Applies the weights to one chunk's {@code [weights.length, width]} block of {@code hidden},
     * starting at {@code offset}, in place. The means are taken in double; the products are float, as
     * the encoder's output. All weights 1 leave the block untouched (A1111 would turn an all-zero
     * block into NaN by 0/0; that is the one difference). As in A1111, a block whose weighted mean
     * is 0 becomes infinite or NaN.
     *
     * @throws IllegalArgumentException when the block does not fit in {@code hidden}
     */
    public static void emphasize(float[] hidden, int offset, int width, float[] weights) {
        Objects.requireNonNull(hidden, "hidden");
        Objects.requireNonNull(weights, "weights");
        long size = (long) weights.length * width;
        if (offset < 0 || width <= 0 || offset + size > hidden.length) {
            throw new IllegalArgumentException("a [" + weights.length + ", " + width + "] block at " + offset
                    + " does not fit in " + hidden.length + " values");
        }
        if (allOnes(weights)) {
            return;
        }
        int end = offset + (int) size;
        double originalMean = sum(hidden, offset, end) / size;
        for (int token = 0; token < weights.length; token++) {
            int row = offset + token * width;
            for (int i = row; i < row + width; i++) {
                hidden[i] *= weights[token];
            }
        }
        double newMean = sum(hidden, offset, end) / size;
        float scale = (float) (originalMean / newMean);
        for (int i = offset; i < end; i++) {
            hidden[i] *= scale;
        }
    }

    private static double sum(float[] values, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += values[i];
        }
        return sum;
    }

    private static boolean allOnes(float[] weights) {
        for (float weight : weights) {
            if (weight != 1f) {
                return false;
            }
        }
        return true;
    }
}
