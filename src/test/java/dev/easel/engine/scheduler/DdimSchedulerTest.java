package dev.easel.engine.scheduler;

import static dev.easel.engine.scheduler.DiffusersFixtures.assertSumAndMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.config;
import static dev.easel.engine.scheduler.DiffusersFixtures.loop;
import static dev.easel.engine.scheduler.DiffusersFixtures.sampleDeter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** DDIM against diffusers' tests/schedulers/test_scheduler_ddim.py. */
class DdimSchedulerTest {

    /** get_scheduler_config of test_scheduler_ddim.py, plus overrides. */
    private static DdimScheduler scheduler(String extra) {
        return new DdimScheduler(config("{\"num_train_timesteps\": 1000, \"beta_start\": 0.0001,"
                + " \"beta_end\": 0.02, \"beta_schedule\": \"linear\", \"clip_sample\": true" + extra + "}"), 0.0);
    }

    private static float[] fullLoop(String extra) {
        DdimScheduler s = scheduler(extra);
        s.setTimesteps(10);
        return loop(s, sampleDeter(), 0);
    }

    @Test
    void fullLoopNoNoise() {
        assertSumAndMean(fullLoop(""), 172.0067, 1e-2, 0.223967, 1e-3);
    }

    @Test
    void fullLoopWithVPrediction() {
        assertSumAndMean(fullLoop(", \"prediction_type\": \"v_prediction\""), 52.5302, 1e-2, 0.0684, 1e-3);
    }

    @Test
    void fullLoopWithSetAlphaToOne() {
        assertSumAndMean(fullLoop(", \"set_alpha_to_one\": true, \"beta_start\": 0.01"), 149.8295, 1e-2, 0.1951, 1e-3);
    }

    @Test
    void fullLoopWithoutSetAlphaToOne() {
        assertSumAndMean(fullLoop(", \"set_alpha_to_one\": false, \"beta_start\": 0.01"), 149.0784, 1e-2, 0.1941, 1e-3);
    }

    @Test
    void fullLoopWithNoiseFromIndexEight() {
        DdimScheduler s = scheduler("");
        s.setTimesteps(10);
        float[] sample = sampleDeter();
        s.addNoise(sample, DiffusersFixtures.noiseDeter(), 8, sample);
        assertSumAndMean(loop(s, sample, 8), 354.5418, 1e-2, 0.4616, 1e-3);
    }

    @Test
    void stepsOffsetShiftsLeadingTimesteps() {
        DdimScheduler s = scheduler(", \"steps_offset\": 1");
        s.setTimesteps(5);
        assertArrayEquals(new double[] {801, 601, 401, 201, 1}, s.timesteps());
    }

    @Test
    void trailingAndLinspaceSpacing() {
        DdimScheduler trailing = scheduler(", \"timestep_spacing\": \"trailing\"");
        trailing.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, trailing.timesteps());
        DdimScheduler linspace = scheduler(", \"timestep_spacing\": \"linspace\"");
        linspace.setTimesteps(4);
        assertArrayEquals(new double[] {999, 666, 333, 0}, linspace.timesteps());
        linspace.setTimesteps(10);
        // linspace(0, 999, 10) = 0, 111, ..., 999 exactly.
        assertArrayEquals(new double[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, linspace.timesteps());
    }

    @Test
    void varianceMatchesDiffusers() {
        DdimScheduler s = scheduler("");
        assertEquals(0.0, s.variance(0, 0), 1e-5);
        assertEquals(0.14771, s.variance(420, 400), 1e-5);
        assertEquals(0.32460, s.variance(980, 960), 1e-5);
        assertEquals(0.00979, s.variance(487, 486), 1e-5);
        assertEquals(0.02, s.variance(999, 998), 1e-5);
    }
}
