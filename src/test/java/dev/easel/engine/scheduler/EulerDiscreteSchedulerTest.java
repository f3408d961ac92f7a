package dev.easel.engine.scheduler;

import static dev.easel.engine.scheduler.DiffusersFixtures.assertSumAndMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.config;
import static dev.easel.engine.scheduler.DiffusersFixtures.sampleDeter;
import static dev.easel.engine.scheduler.DiffusersFixtures.scaledLoop;

import org.junit.jupiter.api.Test;

/** Euler against diffusers' tests/schedulers/test_scheduler_euler.py. */
class EulerDiscreteSchedulerTest {

    private static EulerDiscreteScheduler scheduler(String extra) {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(config("{\"num_train_timesteps\": 1100,"
                + " \"beta_start\": 0.0001, \"beta_end\": 0.02, \"beta_schedule\": \"linear\"" + extra + "}"));
        s.setTimesteps(10);
        return s;
    }

    private static float[] initialSample(Scheduler s) {
        float[] sample = sampleDeter();
        for (int i = 0; i < sample.length; i++) {
            sample[i] *= s.initNoiseSigma();
        }
        return sample;
    }

    @Test
    void fullLoopNoNoise() {
        EulerDiscreteScheduler s = scheduler("");
        assertSumAndMean(scaledLoop(s, initialSample(s), 0), 10.0807, 1e-2, 0.0131, 1e-3);
    }

    @Test
    void fullLoopWithVPrediction() {
        EulerDiscreteScheduler s = scheduler(", \"prediction_type\": \"v_prediction\"");
        assertSumAndMean(scaledLoop(s, initialSample(s), 0), 0.0002, 1e-2, 2.2676e-06, 1e-3);
    }

    @Test
    void fullLoopWithKarrasSigmas() {
        EulerDiscreteScheduler s = scheduler(", \"use_karras_sigmas\": true");
        assertSumAndMean(scaledLoop(s, initialSample(s), 0), 124.52299499511719, 1e-2, 0.16213932633399963, 1e-3);
    }

    @Test
    void fullLoopWithNoiseFromIndexEight() {
        EulerDiscreteScheduler s = scheduler("");
        float[] sample = initialSample(s);
        s.addNoise(sample, DiffusersFixtures.noiseDeter(), 8, sample);
        assertSumAndMean(scaledLoop(s, sample, 8), 57062.9297, 1e-2, 74.3007, 1e-3);
    }
}
