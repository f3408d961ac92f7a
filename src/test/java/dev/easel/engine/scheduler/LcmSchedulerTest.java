package dev.easel.engine.scheduler;

import static dev.easel.engine.scheduler.DiffusersFixtures.assertSumAndMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.config;
import static dev.easel.engine.scheduler.DiffusersFixtures.loop;
import static dev.easel.engine.scheduler.DiffusersFixtures.sampleDeter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** LCM against diffusers' tests/schedulers/test_scheduler_lcm.py. */
class LcmSchedulerTest {

    private static LcmScheduler scheduler() {
        return new LcmScheduler(config("{\"num_train_timesteps\": 1000, \"beta_start\": 0.00085,"
                + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"epsilon\"}"));
    }

    /** The one-step loop is deterministic (the multistep one draws torch noise). */
    @Test
    void fullLoopOneStep() {
        LcmScheduler s = scheduler();
        s.setTimesteps(1);
        assertArrayEquals(new double[] {999}, s.timesteps());
        assertSumAndMean(loop(s, sampleDeter(), 0), 18.7097, 1e-2, 0.0244, 1e-3);
    }

    @Test
    void timestepsAreEvenlyStridedDistillationSteps() {
        LcmScheduler s = scheduler();
        s.setTimesteps(4);
        assertArrayEquals(new double[] {999, 759, 499, 259}, s.timesteps());
        s.setTimesteps(50);
        double[] all = s.timesteps();
        assertTrue(all[0] == 999 && all[49] == 19);
        // test_inference_steps' hard-coded valid timesteps: 99 at 10 steps, 39 at 25, 19 at 50.
        s.setTimesteps(10);
        assertTrue(s.timesteps()[9] == 99);
        s.setTimesteps(25);
        assertTrue(s.timesteps()[24] == 39);
    }

    @Test
    void stepsAreLimitedByOriginalInferenceSteps() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> scheduler().setTimesteps(51));
        assertTrue(e.getMessage().contains("original_inference_steps (50)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> scheduler().setTimesteps(0));
    }
}
