package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.scheduler.SchedulerConfig.BetaSchedule;
import dev.easel.engine.scheduler.SchedulerConfig.FinalSigmas;
import dev.easel.engine.scheduler.SchedulerConfig.PredictionType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchedulerConfigTest {

    @TempDir
    Path dir;

    private Path write(String json) throws IOException {
        Path file = dir.resolve("scheduler_config.json");
        Files.writeString(file, json);
        return file;
    }

    @Test
    void readsTheStableDiffusion15Bundle() {
        Path file = Path.of(System.getProperty("easel.shared.dir", "../shared"),
                "reference-bundles/sd15-olive/scheduler/scheduler_config.json");
        assumeTrue(Files.isRegularFile(file), "shared reference bundle not present: " + file);
        assertEquals(SchedulerConfig.stableDiffusion15(), SchedulerConfig.read(file));
    }

    @Test
    void missingKeysTakeDiffusersDefaultsAndUnknownKeysAreIgnored() throws IOException {
        SchedulerConfig c = SchedulerConfig.read(write("{\"_class_name\": \"DDIMScheduler\", \"solver_order\": 2}"));
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertNull(c.trainedBetas());
        assertNull(c.timestepSpacing(), "class-dependent default");
        assertNull(c.setAlphaToOne(), "class-dependent default");
        assertNull(c.clipSample(), "class-dependent default");
        assertEquals(0, c.stepsOffset());
        assertEquals(50, c.originalInferenceSteps());
        assertEquals(10.0, c.timestepScaling());
        assertEquals(FinalSigmas.ZERO, c.finalSigmasType());
        assertTrue(c.lowerOrderFinal());
    }

    @Test
    void unknownEnumValueNamesKeyValueAndAllowedValues() throws IOException {
        Path file = write("{\"beta_schedule\": \"cosine\"}");
        BundleException e = assertThrows(BundleException.class, () -> SchedulerConfig.read(file));
        assertEquals(file + ": beta_schedule: unknown value \"cosine\"; allowed: linear, scaled_linear, squaredcos_cap_v2",
                e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"timestep_spacing\": 3}")));
        assertTrue(e.getMessage().contains("timestep_spacing: unknown value 3; allowed: leading, trailing, linspace"),
                e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"prediction_type\": \"flow\"}")));
        assertTrue(e.getMessage().contains("allowed: epsilon, v_prediction, sample"), e.getMessage());
    }

    @Test
    void badTypesAndValuesAreReported() throws IOException {
        BundleException e = assertThrows(BundleException.class,
                () -> SchedulerConfig.read(write("{\"num_train_timesteps\": \"1000\"}")));
        assertTrue(e.getMessage().contains("num_train_timesteps: invalid value \"1000\"; expected an integer"),
                e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"num_train_timesteps\": 1}")));
        assertTrue(e.getMessage().contains("num_train_timesteps must be between 2 and 100000, got 1"), e.getMessage());
        // Every job would allocate tables of this size (28 GB).
        e = assertThrows(BundleException.class,
                () -> SchedulerConfig.read(write("{\"num_train_timesteps\": 1000000000}")));
        assertTrue(e.getMessage().contains("num_train_timesteps must be between 2 and 100000, got 1000000000"),
                e.getMessage());
        // 1 - beta below zero: NaN sigmas, black pictures, no error.
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"beta_end\": 1.2}")));
        assertTrue(e.getMessage().contains("beta_end must be in (0, 1), got 1.2"), e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"beta_start\": -0.001}")));
        assertTrue(e.getMessage().contains("beta_start must be in (0, 1), got -0.001"), e.getMessage());
        e = assertThrows(BundleException.class,
                () -> SchedulerConfig.read(write("{\"num_train_timesteps\": 2, \"trained_betas\": [0.1, 1.5]}")));
        assertTrue(e.getMessage().contains("trained_betas[1] must be in [0, 1), got 1.5"), e.getMessage());
        e = assertThrows(BundleException.class,
                () -> SchedulerConfig.read(write("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}")));
        assertTrue(e.getMessage().contains("trained_betas has 2 entries but num_train_timesteps is 3"), e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"rescale_betas_zero_snr\": true}")));
        assertTrue(e.getMessage().contains("rescale_betas_zero_snr: value true is not supported; allowed: false"),
                e.getMessage());
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(write("{\"clip_sample\": \"yes\"}")));
        assertTrue(e.getMessage().contains("clip_sample: invalid value \"yes\"; expected true or false"), e.getMessage());
    }

    @Test
    void malformedJsonNamesTheFile() throws IOException {
        Path file = write("{\"beta_start\": ");
        BundleException e = assertThrows(BundleException.class, () -> SchedulerConfig.read(file));
        assertTrue(e.getMessage().startsWith(file + ": malformed JSON"), e.getMessage());
        Path array = write("[1, 2]");
        e = assertThrows(BundleException.class, () -> SchedulerConfig.read(array));
        assertTrue(e.getMessage().endsWith("scheduler config must be a JSON object"), e.getMessage());
    }

    @Test
    void trainedBetasOverrideTheSchedule() throws IOException {
        SchedulerConfig c = SchedulerConfig.read(write("{\"num_train_timesteps\": 2, \"trained_betas\": [0.5, 0.5]}"));
        NoiseSchedule s = new NoiseSchedule(c);
        assertEquals(0.5, s.alphaCumprod(0));
        assertEquals(0.25, s.alphaCumprod(1));
    }

    /** SD 1.5: alpha-bar[0] = 1 - beta_start; the terminal SNR is 0.0047 (Lin et al. 2024, table 1). */
    @Test
    void stableDiffusion15AlphasCumprod() {
        NoiseSchedule s = new NoiseSchedule(SchedulerConfig.stableDiffusion15());
        assertEquals(0.99915, s.alphaCumprod(0), 1e-7);
        double product = 1;
        double r0 = Math.sqrt(0.00085);
        double r1 = Math.sqrt(0.012);
        for (int t = 0; t < 1000; t++) {
            double root = r0 + t * (r1 - r0) / 999;
            product *= 1 - root * root;
            assertEquals(product, s.alphaCumprod(t), 2e-6 * product, "alpha-bar[" + t + "]");
        }
        double last = s.alphaCumprod(999);
        assertEquals(0.0047, last / (1 - last), 5e-5);
    }
}
