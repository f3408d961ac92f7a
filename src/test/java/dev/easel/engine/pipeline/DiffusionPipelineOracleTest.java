package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.easel.engine.image.RgbImage;
import dev.easel.engine.noise.PhiloxNoise;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import dev.easel.fixtures.BundleVariants;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end through ONNX Runtime with an oracle bundle whose UNet is the ideal denoiser for a
 * prompt-dependent target: every sampler, stochastic ones included, must land on that target, so
 * the picture is known exactly.
 */
class DiffusionPipelineOracleTest {

    private static final String PROMPT = "a red circle";
    private static final int SIZE = 64;

    @TempDir
    static Path dir;
    static OracleModels models;

    @BeforeAll
    static void load() {
        models = OracleModels.write(dir.resolve("oracle"), BundleVariants.DEFAULT);
    }

    @AfterAll
    static void close() {
        models.close();
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder(PROMPT).size(SIZE, SIZE).steps(12).guidanceScale(1f).seed(7)
                .scheduler("euler");
    }

    /** Samplers whose schedule ends at sigma 0 land exactly on the ideal denoiser's target. */
    @ParameterizedTest
    @ValueSource(strings = {"euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"})
    void samplersEndingAtSigmaZeroLandOnThePromptsTarget(String scheduler) {
        int steps = scheduler.equals("lcm") ? 4 : 12;
        GenerationResult result = models.pipeline().generate(request().scheduler(scheduler).steps(steps).build(),
                ProgressListener.NONE, Cancellation.NONE);
        float[] target = models.oracle().targetLatents(models.tokenizer().encodePadded(PROMPT));
        assertLatents(result.finalLatents(), target, 2e-3f);
        Pixels.assertSolid(result.images().get(0).image(), models.colour(PROMPT), 1);
    }

    /**
     * PNDM and DDIM with SD's set_alpha_to_one=false stop at ᾱ₀ = alphas_cumprod[0], not 1, as
     * diffusers does: with the ideal denoiser the predicted noise ε̂ stays constant along the path, so
     * the result is exactly √ᾱ₀·x0 + √(1−ᾱ₀)·ε̂, with ε̂ = (x_T − √ᾱ_T·x0)/√(1−ᾱ_T).
     */
    @ParameterizedTest
    @ValueSource(strings = {"pndm", "ddim"})
    void ddimFamilyEndsAtTheFirstTrainingTimestep(String scheduler) {
        GenerationResult result = models.pipeline().generate(request().scheduler(scheduler).build(),
                ProgressListener.NONE, Cancellation.NONE);
        float[] x0 = models.oracle().targetLatents(models.tokenizer().encodePadded(PROMPT));
        float[] start = new float[result.finalLatents().length];
        new PhiloxNoise(7).fill(start);
        Scheduler reference = Schedulers.create(scheduler, models.model().config().scheduler(), 0);
        reference.setTimesteps(12);
        double alphaT = models.oracle().alphaBar(reference.timesteps()[0]);
        double alpha0 = models.oracle().alphaBar(0);
        int plane = start.length / x0.length;
        for (int i = 0; i < start.length; i++) {
            double target = x0[i / plane];
            double eps = (start[i] - Math.sqrt(alphaT) * target) / Math.sqrt(1 - alphaT);
            double expected = Math.sqrt(alpha0) * target + Math.sqrt(1 - alpha0) * eps;
            assertEquals(expected, result.finalLatents()[i], 1e-3, "latent " + i);
        }
        models.assertDecodes(result.images().get(0).image(), result.finalLatents(), 1);
    }

    @Test
    void differentPromptsGiveDifferentPictures() {
        float[] red = models.colour(PROMPT);
        float[] other = models.colour("blue square");
        assertThat(Math.abs(Pixels.toByte(red[0]) - Pixels.toByte(other[0]))
                + Math.abs(Pixels.toByte(red[1]) - Pixels.toByte(other[1]))
                + Math.abs(Pixels.toByte(red[2]) - Pixels.toByte(other[2]))).isGreaterThan(20);
        GenerationResult result = models.pipeline().generate(
                GenerationRequest.builder("blue square").size(SIZE, SIZE).steps(12).guidanceScale(1f)
                        .scheduler("dpmpp_2m").build(),
                ProgressListener.NONE, Cancellation.NONE);
        Pixels.assertSolid(result.images().get(0).image(), other, 1);
    }

    @Test
    void classifierFreeGuidanceExtrapolatesFromTheNegativePrompt() {
        float scale = 3f;
        String negative = "a green triangle";
        GenerationResult result = models.pipeline().generate(
                request().negativePrompt(negative).guidanceScale(scale).build(), ProgressListener.NONE,
                Cancellation.NONE);
        float[] target = models.guidedTarget(PROMPT, negative, scale);
        assertLatents(result.finalLatents(), target, 5e-3f);
        Pixels.assertSolid(result.images().get(0).image(), models.decode(target), 1);
    }

    @Test
    void batchedImagesEachCarryTheirSeed() {
        GenerationResult result = models.pipeline().generate(request().numImages(3).seed(40).guidanceScale(2f).build(),
                ProgressListener.NONE, Cancellation.NONE);
        assertEquals(3, result.images().size());
        float[] colour = models.decode(models.guidedTarget(PROMPT, "", 2f));
        for (int i = 0; i < 3; i++) {
            assertEquals(40 + i, result.images().get(i).seed());
            Pixels.assertSolid(result.images().get(i).image(), colour, 1);
        }
    }

    @Test
    void imageToImageRunsTheTailOfTheSchedule() {
        RgbImage init = Pixels.solid(SIZE, SIZE, 30, 200, 90);
        List<Integer> totals = new ArrayList<>();
        GenerationResult result = models.pipeline().generate(
                request().scheduler("euler").image(ImageInput.img2img(init, 0.5f)).build(),
                (step, total) -> totals.add(total), Cancellation.NONE);
        // 12 steps at strength 0.5: only the last int(12 * 0.5) = 6 timesteps run.
        assertThat(totals).hasSize(6).containsOnly(6);
        Pixels.assertSolid(result.images().get(0).image(), models.colour(PROMPT), 1);
    }

    @Test
    void progressIsReportedAfterEveryStepAndCancellationStopsBetweenSteps() {
        List<Integer> steps = new ArrayList<>();
        models.pipeline().generate(request().scheduler("euler").build(), (step, total) -> steps.add(step),
                Cancellation.NONE);
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), steps);

        int[] checks = {0};
        GenerationCancelledException e = assertThrows(GenerationCancelledException.class,
                () -> models.pipeline().generate(request().scheduler("euler").build(), ProgressListener.NONE, () -> {
                    if (++checks[0] > 3) {
                        throw new GenerationCancelledException("deadline passed");
                    }
                }));
        assertEquals("deadline passed", e.getMessage());
        assertEquals(4, checks[0]);
    }

    @Test
    void suppliedNoiseReplacesTheSeededNoise() {
        int perImage = 4 * (SIZE / 8) * (SIZE / 8);
        float[] noise = new float[perImage];
        new PhiloxNoise(7).fill(noise);
        GenerationRequest seeded = request().scheduler("euler_a").build();
        GenerationRequest supplied = request().scheduler("euler_a").seed(7).initialNoise(noise).build();
        float[] a = models.pipeline().generate(seeded, ProgressListener.NONE, Cancellation.NONE).finalLatents();
        float[] b = models.pipeline().generate(supplied, ProgressListener.NONE, Cancellation.NONE).finalLatents();
        assertArrayEquals(a, b);
    }

    /** Latents [n, C, 8, 8] all equal to one value per channel. */
    static void assertLatents(float[] latents, float[] perChannel, float tolerance) {
        int plane = SIZE / 8 * SIZE / 8;
        for (int i = 0; i < latents.length; i++) {
            int c = (i / plane) % perChannel.length;
            int index = i;
            assertEquals(perChannel[c], latents[i], tolerance, () -> "latent " + index + " (channel " + c + ")");
        }
    }
}
