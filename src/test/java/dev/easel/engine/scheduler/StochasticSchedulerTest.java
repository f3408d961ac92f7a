package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.noise.GaussianNoise;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The stochastic samplers (diffusers' loops for them use torch's RNG, which cannot be reproduced)
 * are checked on their defining property instead: from the exact marginal at one timestep, with an
 * ideal model, one step lands on the exact marginal of the next timestep — mean {@code c x0} and
 * noise standard deviation as {@link Scheduler#addNoise} would put there.
 */
class StochasticSchedulerTest {

    private static final int SIZE = 200_000;

    private static GaussianNoise gaussian(long seed) {
        Random random = new Random(seed);
        return (out, offset, length) -> {
            for (int i = offset; i < offset + length; i++) {
                out[i] = (float) random.nextGaussian();
            }
        };
    }

    @ParameterizedTest
    @CsvSource({"ddim, 1.0, 3", "ddim, 0.5, 6", "euler_a, 0, 3", "euler_a, 0, 8", "lcm, 0, 1", "lcm, 0, 2"})
    void oneStepReachesTheNextMarginal(String name, double eta, int index) {
        SchedulerConfig config = SchedulerConfig.stableDiffusion15();
        Scheduler scheduler = Schedulers.create(name, config, eta);
        scheduler.setTimesteps(name.equals("lcm") ? 4 : 10);
        double[] timesteps = scheduler.timesteps();

        Random random = new Random(5);
        float[] x0 = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            x0[i] = (float) (2 * random.nextDouble() - 1);
        }
        float[] sample = new float[SIZE];
        gaussian(11).fill(sample);
        scheduler.addNoise(x0, sample.clone(), index, sample);

        float[] input = sample.clone();
        float scale = scheduler.scaleModelInput(index);
        for (int i = 0; i < SIZE; i++) {
            input[i] *= scale;
        }
        scheduler.step(new IdealDenoiser(x0, config).predict(input, timesteps[index]), index, sample, gaussian(13));

        // addNoise at the next index gives the target mean (noise 0) and noise scale (x0 0, noise 1).
        float[] mean = new float[SIZE];
        scheduler.addNoise(x0, new float[SIZE], index + 1, mean);
        float[] std = new float[1];
        scheduler.addNoise(new float[1], new float[] {1f}, index + 1, std);

        double sum = 0;
        double squares = 0;
        for (int i = 0; i < SIZE; i++) {
            double r = sample[i] - mean[i];
            sum += r;
            squares += r * r;
        }
        double residualMean = sum / SIZE;
        double residualStd = Math.sqrt(squares / SIZE - residualMean * residualMean);
        assertEquals(0, residualMean, 4 * std[0] / Math.sqrt(SIZE), "residual mean");
        assertEquals(std[0], residualStd, 0.01 * std[0], "residual standard deviation");
    }

    @ParameterizedTest
    @CsvSource({"ddim, 1.0", "euler_a, 0", "lcm, 0"})
    void theNoiseSourceFixesTheRun(String name, double eta) {
        float[][] results = new float[2][];
        for (int run = 0; run < 2; run++) {
            Scheduler scheduler = Schedulers.create(name, SchedulerConfig.stableDiffusion15(), eta);
            scheduler.setTimesteps(4);
            GaussianNoise noise = gaussian(42);
            float[] sample = new float[256];
            noise.fill(sample);
            float[] output = new float[256];
            double[] timesteps = scheduler.timesteps();
            for (int i = 0; i < timesteps.length; i++) {
                for (int j = 0; j < output.length; j++) {
                    output[j] = 0.1f * sample[j];
                }
                scheduler.step(output, i, sample, noise);
            }
            results[run] = sample;
        }
        assertArrayEquals(results[0], results[1]);
    }
}
