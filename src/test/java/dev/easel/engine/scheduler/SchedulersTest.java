package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SchedulersTest {

    private static final SchedulerConfig SD15 = SchedulerConfig.stableDiffusion15();

    @Test
    void createsEveryKnownName() {
        assertEquals(List.of("pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"), Schedulers.names());
        assertInstanceOf(PndmScheduler.class, Schedulers.create("pndm", SD15, 0));
        assertInstanceOf(DdimScheduler.class, Schedulers.create("ddim", SD15, 0.5));
        assertInstanceOf(EulerDiscreteScheduler.class, Schedulers.create("euler", SD15, 0));
        assertInstanceOf(EulerAncestralScheduler.class, Schedulers.create("euler_a", SD15, 0));
        assertInstanceOf(DpmSolverMultistepScheduler.class, Schedulers.create("dpmpp_2m", SD15, 0));
        assertInstanceOf(LcmScheduler.class, Schedulers.create("lcm", SD15, 0));
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("heun", SD15, 0));
        assertEquals("unknown scheduler 'heun'; known: pndm, ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm",
                e.getMessage());
    }

    @Test
    void etaMustBeInUnitRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("ddim", SD15, 1.5));
        assertEquals("eta must be in [0, 1], got 1.5", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Schedulers.create("euler", SD15, Double.NaN));
    }

    @Test
    void stepCountsAreValidatedWithTheLimit() {
        for (String name : Schedulers.names()) {
            Scheduler s = Schedulers.create(name, SD15, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0));
            assertEquals("steps must be >= 1, got 0", e.getMessage(), name);
            e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001));
            assertTrue(e.getMessage().startsWith("steps must be <= "), name + ": " + e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("ddim", SD15, 0).setTimesteps(1001));
        assertEquals("steps must be <= num_train_timesteps (1000), got 1001", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Schedulers.create("lcm", SD15, 0).setTimesteps(51));
        assertEquals("steps must be <= original_inference_steps (50), got 51", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Schedulers.create("pndm", SD15, 0).setTimesteps(1000));
        assertEquals("steps=1000 with steps_offset=1 reaches a timestep beyond num_train_timesteps - 1 (999)",
                e.getMessage());
    }

    @Test
    void karrasChoiceFollowsTheName() {
        Scheduler plain = Schedulers.create("dpmpp_2m", SD15.withKarrasSigmas(true), 0);
        Scheduler karras = Schedulers.create("dpmpp_2m_karras", SD15, 0);
        plain.setTimesteps(10);
        karras.setTimesteps(10);
        // diffusers' "leading" for DPM-Solver spaces steps + 1 points: 1000 // 11 = 90, plus offset 1.
        assertEquals(901, plain.timesteps()[0]);
        assertEquals(811, plain.timesteps()[1]);
        assertEquals(999, karras.timesteps()[0]);
        // Karras spends more steps at low noise: its 9th of 10 timesteps is far below the uniform one.
        assertTrue(karras.timesteps()[8] < plain.timesteps()[8] / 2);
    }

    @Test
    void sigmaFamilyScalesAndStartsAtSigmaMax() {
        EulerDiscreteScheduler euler = new EulerDiscreteScheduler(SD15);
        euler.setTimesteps(50);
        // SD 1.5 uses "leading" spacing: start noise sqrt(sigma_max^2 + 1) with sigma at t = 981.
        double sigma = new NoiseSchedule(SD15).sigma(981);
        assertEquals(981, euler.timesteps()[0]);
        assertEquals(Math.sqrt(sigma * sigma + 1), euler.initNoiseSigma(), 1e-5);
        assertEquals(1 / Math.sqrt(sigma * sigma + 1), euler.scaleModelInput(0), 1e-7);
        assertEquals(1f, Schedulers.create("dpmpp_2m", SD15, 0).initNoiseSigma());
    }

    /** A step allocates nothing once the run's buffers exist (the UNet loop runs it 20-50 times). */
    @Test
    void stepsAfterTheFirstAllocateNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        Random random = new Random(1);
        float[] sample = new float[4 * 64 * 64];
        float[] output = new float[sample.length];
        for (String name : Schedulers.names()) {
            for (int warm = 0; warm < 3; warm++) {
                Scheduler s = Schedulers.create(name, SD15, 0);
                s.setTimesteps(30);
                int length = s.timesteps().length;
                s.step(output, 0, sample, (out, offset, n) -> { });
                long before = threads.getThreadAllocatedBytes(thread);
                for (int i = 1; i < length; i++) {
                    output[i % output.length] = (float) random.nextGaussian();
                    s.step(output, i, sample, (out, offset, n) -> { });
                }
                long allocated = threads.getThreadAllocatedBytes(thread) - before;
                if (warm == 2) {
                    // Well below one sample buffer (64 KiB): only JIT/profiling noise is tolerated.
                    assertTrue(allocated < 4096, name + " allocated " + allocated + " bytes in " + (length - 1) + " steps");
                }
            }
        }
    }
}
