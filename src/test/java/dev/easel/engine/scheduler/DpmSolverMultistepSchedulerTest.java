package dev.easel.engine.scheduler;

import static dev.easel.engine.scheduler.DiffusersFixtures.assertMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.assertSumAndMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.config;
import static dev.easel.engine.scheduler.DiffusersFixtures.loop;
import static dev.easel.engine.scheduler.DiffusersFixtures.sampleDeter;

import org.junit.jupiter.api.Test;

/**
 * DPM-Solver++(2M) against diffusers' tests/schedulers/test_scheduler_dpm_multi.py, whose config ends
 * at sigma_min with a second-order last step.
 */
class DpmSolverMultistepSchedulerTest {

    private static DpmSolverMultistepScheduler scheduler(String extra) {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(config("{\"num_train_timesteps\": 1000,"
                + " \"beta_start\": 0.0001, \"beta_end\": 0.02, \"beta_schedule\": \"linear\","
                + " \"solver_order\": 2, \"algorithm_type\": \"dpmsolver++\", \"solver_type\": \"midpoint\","
                + " \"lower_order_final\": false, \"euler_at_final\": false, \"final_sigmas_type\": \"sigma_min\""
                + extra + "}"));
        s.setTimesteps(10);
        return s;
    }

    @Test
    void fullLoopNoNoise() {
        assertMean(loop(scheduler(""), sampleDeter(), 0), 0.3301, 1e-3);
    }

    @Test
    void fullLoopWithVPrediction() {
        assertMean(loop(scheduler(", \"prediction_type\": \"v_prediction\""), sampleDeter(), 0), 0.2251, 1e-3);
    }

    @Test
    void fullLoopWithKarrasAndVPrediction() {
        DpmSolverMultistepScheduler s = scheduler(", \"prediction_type\": \"v_prediction\", \"use_karras_sigmas\": true");
        assertMean(loop(s, sampleDeter(), 0), 0.2096, 1e-3);
    }

    @Test
    void fullLoopWithNoiseFromIndexFive() {
        DpmSolverMultistepScheduler s = scheduler("");
        float[] sample = sampleDeter();
        s.addNoise(sample, DiffusersFixtures.noiseDeter(), 5, sample);
        assertSumAndMean(loop(s, sample, 5), 318.4111, 1e-2, 0.4146, 1e-3);
    }
}
