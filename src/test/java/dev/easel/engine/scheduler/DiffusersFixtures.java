package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.noise.GaussianNoise;

/**
 * The fixtures of diffusers' scheduler test-suite (tests/schedulers/test_schedulers.py), so that
 * its "full loop" expected sums and means can be checked here.
 */
final class DiffusersFixtures {

    /** batch 4, channels 3, 8 x 8. */
    static final int SIZE = 4 * 3 * 8 * 8;

    /** Stochastic paths are never taken by the deterministic loops; fail loudly if one is. */
    static final GaussianNoise NO_NOISE = (out, offset, length) -> {
        throw new AssertionError("a deterministic loop drew noise");
    };

    private DiffusersFixtures() {
    }

    /**
     * {@code dummy_sample_deter}: {@code arange(768).reshape(3, 8, 8, 4) / 768} permuted to
     * (batch, channel, h, w), flattened in that (row-major) order.
     */
    static float[] sampleDeter() {
        return arangePermuted(false);
    }

    /** {@code dummy_noise_deter}: as {@link #sampleDeter()} but from {@code arange(768).flip(-1)}. */
    static float[] noiseDeter() {
        return arangePermuted(true);
    }

    private static float[] arangePermuted(boolean flipped) {
        float[] out = new float[SIZE];
        for (int b = 0; b < 4; b++) {
            for (int c = 0; c < 3; c++) {
                for (int h = 0; h < 8; h++) {
                    for (int w = 0; w < 8; w++) {
                        int source = ((c * 8 + h) * 8 + w) * 4 + b;
                        int value = flipped ? SIZE - 1 - source : source;
                        out[((b * 3 + c) * 8 + h) * 8 + w] = value / (float) SIZE;
                    }
                }
            }
        }
        return out;
    }

    /** {@code dummy_model}: {@code sample * t / (t + 1)}, in float32 as torch computes it. */
    static float[] model(float[] sample, double t) {
        float tf = (float) t;
        float[] out = new float[sample.length];
        for (int i = 0; i < sample.length; i++) {
            out[i] = sample[i] * tf / (tf + 1f);
        }
        return out;
    }

    /**
     * The plain loop of test_scheduler_ddim/pndm/dpm_multi/lcm: from index {@code start}, model on the
     * sample, step.
     */
    static float[] loop(Scheduler scheduler, float[] sample, int start) {
        double[] timesteps = scheduler.timesteps();
        for (int i = start; i < timesteps.length; i++) {
            scheduler.step(model(sample, timesteps[i]), i, sample, NO_NOISE);
        }
        return sample;
    }

    /**
     * The loop of test_scheduler_euler*.py, which (unlike a pipeline) replaces the sample by its
     * scaled model input before stepping.
     */
    static float[] scaledLoop(Scheduler scheduler, float[] sample, int start) {
        double[] timesteps = scheduler.timesteps();
        for (int i = start; i < timesteps.length; i++) {
            float scale = scheduler.scaleModelInput(i);
            for (int j = 0; j < sample.length; j++) {
                sample[j] *= scale;
            }
            scheduler.step(model(sample, timesteps[i]), i, sample, NO_NOISE);
        }
        return sample;
    }

    /** Asserts diffusers' {@code torch.sum(torch.abs(sample))} and mean, with its tolerances. */
    static void assertSumAndMean(float[] sample, double sum, double sumTolerance, double mean, double meanTolerance) {
        double total = 0;
        for (float v : sample) {
            total += Math.abs(v);
        }
        assertEquals(sum, total, sumTolerance, "result_sum");
        assertEquals(mean, total / sample.length, meanTolerance, "result_mean");
    }

    /** Asserts only the mean (the dpm_multi tests check only that). */
    static void assertMean(float[] sample, double mean, double meanTolerance) {
        double total = 0;
        for (float v : sample) {
            total += Math.abs(v);
        }
        assertEquals(mean, total / sample.length, meanTolerance, "result_mean");
    }

    /** A config from JSON text, as in diffusers' get_scheduler_config(**kwargs). */
    static SchedulerConfig config(String json) {
        return SchedulerConfig.parse(json, java.nio.file.Path.of("test-config.json"));
    }
}
