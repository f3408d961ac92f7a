package dev.easel.engine.scheduler;

import static dev.easel.engine.scheduler.DiffusersFixtures.assertSumAndMean;
import static dev.easel.engine.scheduler.DiffusersFixtures.config;
import static dev.easel.engine.scheduler.DiffusersFixtures.loop;
import static dev.easel.engine.scheduler.DiffusersFixtures.sampleDeter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** PNDM against diffusers' tests/schedulers/test_scheduler_pndm.py (which runs the PRK start). */
class PndmSchedulerTest {

    private static PndmScheduler scheduler(String extra) {
        return new PndmScheduler(config("{\"num_train_timesteps\": 1000, \"beta_start\": 0.0001,"
                + " \"beta_end\": 0.02, \"beta_schedule\": \"linear\"" + extra + "}"));
    }

    private static float[] fullLoop(String extra) {
        PndmScheduler s = scheduler(extra);
        s.setTimesteps(10);
        return loop(s, sampleDeter(), 0);
    }

    @Test
    void fullLoopNoNoise() {
        assertSumAndMean(fullLoop(""), 198.1318, 1e-2, 0.2580, 1e-3);
    }

    @Test
    void fullLoopWithVPrediction() {
        assertSumAndMean(fullLoop(", \"prediction_type\": \"v_prediction\""), 67.3986, 1e-2, 0.0878, 1e-3);
    }

    @Test
    void fullLoopWithSetAlphaToOne() {
        assertSumAndMean(fullLoop(", \"set_alpha_to_one\": true, \"beta_start\": 0.01"), 230.0399, 1e-2, 0.2995, 1e-3);
    }

    @Test
    void fullLoopWithoutSetAlphaToOne() {
        assertSumAndMean(fullLoop(", \"set_alpha_to_one\": false, \"beta_start\": 0.01"), 186.9482, 1e-2, 0.2434, 1e-3);
    }

    @Test
    void prkTimestepsWithStepsOffset() {
        PndmScheduler s = scheduler(", \"steps_offset\": 1");
        s.setTimesteps(10);
        assertArrayEquals(new double[] {901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601,
                601, 501, 401, 301, 201, 101, 1}, s.timesteps());
    }

    @Test
    void stableDiffusionPlmsTimestepsRepeatTheSecondEntry() {
        PndmScheduler s = new PndmScheduler(SchedulerConfig.stableDiffusion15());
        s.setTimesteps(50);
        double[] t = s.timesteps();
        assertEquals(51, t.length);
        assertArrayEquals(new double[] {981, 961, 961, 941, 921}, java.util.Arrays.copyOf(t, 5));
        assertEquals(1, t[50]);
        for (int i = 3; i < t.length; i++) {
            assertEquals(20, t[i - 1] - t[i], "uniform stride after the repeat");
        }
    }
}
