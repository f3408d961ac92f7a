package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A1111's emphasis on one chunk's block, against the formula written out on a [tokens][width] matrix. */
class PromptWeightsTest {

    private static float[] random(int length, long seed) {
        Random random = new Random(seed);
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = (float) (random.nextGaussian() + 0.1);
        }
        return values;
    }

    /** original_mean = z.mean(); z = z * w; new_mean = z.mean(); z *= original_mean / new_mean. */
    private static float[][] direct(float[][] z, float[] w) {
        double original = mean(z);
        float[][] weighted = new float[z.length][];
        for (int t = 0; t < z.length; t++) {
            weighted[t] = new float[z[t].length];
            for (int c = 0; c < z[t].length; c++) {
                weighted[t][c] = z[t][c] * w[t];
            }
        }
        float scale = (float) (original / mean(weighted));
        for (float[] row : weighted) {
            for (int c = 0; c < row.length; c++) {
                row[c] *= scale;
            }
        }
        return weighted;
    }

    private static double mean(float[][] z) {
        double sum = 0;
        int count = 0;
        for (float[] row : z) {
            for (float value : row) {
                sum += value;
                count++;
            }
        }
        return sum / count;
    }

    @Test
    void matchesTheFormulaOnABlockInsideALargerArray() {
        int sequence = 77;
        int width = 32;
        int offset = 2 * sequence * width; // the third chunk of a [4, 77, 32] tensor
        float[] hidden = random(4 * sequence * width, 1);
        float[] weights = new float[sequence];
        Arrays.fill(weights, 1f);
        weights[3] = 1.5f;
        weights[4] = 1.21f;
        weights[10] = (float) (1 / 1.1);
        weights[11] = -1.1f;

        float[][] block = new float[sequence][];
        for (int t = 0; t < sequence; t++) {
            block[t] = Arrays.copyOfRange(hidden, offset + t * width, offset + (t + 1) * width);
        }
        float[][] expected = direct(block, weights);
        float[] before = hidden.clone();

        PromptWeights.emphasize(hidden, offset, width, weights);

        for (int t = 0; t < sequence; t++) {
            assertArrayEquals(expected[t], Arrays.copyOfRange(hidden, offset + t * width, offset + (t + 1) * width),
                    "token " + t);
        }
        assertArrayEquals(Arrays.copyOf(before, offset), Arrays.copyOf(hidden, offset), "before the block");
        assertArrayEquals(Arrays.copyOfRange(before, offset + sequence * width, before.length),
                Arrays.copyOfRange(hidden, offset + sequence * width, hidden.length), "after the block");
    }

    @Test
    void theMeanIsRestored() {
        float[] hidden = random(77 * 16, 2);
        double before = Arrays.stream(toDoubles(hidden)).average().orElseThrow();
        float[] weights = random(77, 3);
        PromptWeights.emphasize(hidden, 0, 16, weights);
        assertEquals(before, Arrays.stream(toDoubles(hidden)).average().orElseThrow(), 1e-6 * Math.abs(before) + 1e-7);
    }

    @Test
    void allOnesLeaveTheBlockAsItIs() {
        float[] hidden = random(77 * 8, 4);
        float[] before = hidden.clone();
        float[] ones = new float[77];
        Arrays.fill(ones, 1f);
        PromptWeights.emphasize(hidden, 0, 8, ones);
        assertArrayEquals(before, hidden);
    }

    @Test
    void aUniformWeightCancelsOut() {
        float[] hidden = random(5 * 4, 5);
        float[] before = hidden.clone();
        PromptWeights.emphasize(hidden, 0, 4, new float[] {2f, 2f, 2f, 2f, 2f});
        assertArrayEquals(before, hidden, 1e-6f);
    }

    @Test
    void aBlockThatDoesNotFitIsRefused() {
        float[] hidden = new float[10];
        float[] weights = {1.5f, 1f};
        assertThrows(IllegalArgumentException.class, () -> PromptWeights.emphasize(hidden, 1, 5, weights));
        assertThrows(IllegalArgumentException.class, () -> PromptWeights.emphasize(hidden, -1, 2, weights));
        assertThrows(IllegalArgumentException.class, () -> PromptWeights.emphasize(hidden, 0, 0, weights));
        assertThrows(IllegalArgumentException.class,
                () -> PromptWeights.emphasize(hidden, Integer.MAX_VALUE, 1, weights));
        PromptWeights.emphasize(hidden, 0, 5, weights); // fits exactly
    }

    private static double[] toDoubles(float[] values) {
        double[] doubles = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            doubles[i] = values[i];
        }
        return doubles;
    }
}
