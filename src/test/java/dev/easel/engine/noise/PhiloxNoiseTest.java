package dev.easel.engine.noise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PhiloxNoiseTest {

    /** Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors). */
    @Test
    void philoxMatchesRandom123KnownAnswers() {
        int[] out = new int[4];
        PhiloxNoise.philox(0, 0, 0, 0, 0, 0, out);
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, out);
        PhiloxNoise.philox(-1, -1, -1, -1, -1, -1, out);
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, out);
        PhiloxNoise.philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}, out);
    }

    @Test
    void sameSeedSameStreamWhateverTheChunking() {
        float[] whole = new float[1001];
        new PhiloxNoise(42).fill(whole);
        float[] chunked = new float[1001];
        PhiloxNoise noise = new PhiloxNoise(42);
        noise.fill(chunked, 0, 3);
        noise.fill(chunked, 3, 500);
        noise.fill(chunked, 503, 498);
        assertArrayEquals(whole, chunked);
        float[] other = new float[1001];
        new PhiloxNoise(43).fill(other);
        assertFalse(Arrays.equals(whole, other));
    }

    /** Pins the documented generator: a change here changes every seeded image ever made. */
    @Test
    void firstValuesOfSeedZeroArePinned() {
        float[] values = new float[4];
        new PhiloxNoise(0).fill(values);
        int[] words = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
        for (int pair = 0; pair < 2; pair++) {
            double u1 = ((words[2 * pair] >>> 8) + 0.5) / (1 << 24);
            double u2 = ((words[2 * pair + 1] >>> 8) + 0.5) / (1 << 24);
            double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
            assertEquals((float) (r * StrictMath.cos(2 * Math.PI * u2)), values[2 * pair]);
            assertEquals((float) (r * StrictMath.sin(2 * Math.PI * u2)), values[2 * pair + 1]);
        }
    }

    @Test
    void samplesAreStandardNormal() {
        float[] values = new float[1 << 20];
        new PhiloxNoise(7).fill(values);
        double sum = 0;
        double squares = 0;
        int beyond3 = 0;
        for (float v : values) {
            sum += v;
            squares += v * v;
            if (Math.abs(v) > 3) {
                beyond3++;
            }
        }
        double mean = sum / values.length;
        double variance = squares / values.length - mean * mean;
        assertEquals(0, mean, 0.005);
        assertEquals(1, variance, 0.01);
        // P(|z| > 3) = 0.0027
        assertEquals(0.0027, beyond3 / (double) values.length, 0.0005);
    }

    @Test
    void batchNoiseGivesEachImageItsOwnSeed() {
        int perImage = 16;
        BatchNoise batch = BatchNoise.seeded(100, 3, perImage);
        float[] all = new float[3 * perImage];
        batch.fill(all);
        for (int i = 0; i < 3; i++) {
            float[] alone = new float[perImage];
            new PhiloxNoise(100 + i).fill(alone);
            assertArrayEquals(alone, Arrays.copyOfRange(all, i * perImage, (i + 1) * perImage));
        }
        assertThrows(IllegalArgumentException.class, () -> batch.fill(new float[5]));
    }
}
