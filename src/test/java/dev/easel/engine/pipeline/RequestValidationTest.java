package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.OracleBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad requests fail before any model runs, naming the field, the value and the limit. */
class RequestValidationTest {

    @TempDir
    static Path dir;
    static OracleModels models;

    @BeforeAll
    static void load() {
        models = OracleModels.write(dir, BundleVariants.DEFAULT);
    }

    @AfterAll
    static void close() {
        models.close();
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
                bad("width", b -> b.size(500, 512), "multiple of 8", "500"),
                bad("height", b -> b.size(512, 4), "between 8 and 2048", "4"),
                bad("width", b -> b.size(2048, 2048), "4194304 pixels", "limit of 1048576"),
                bad("steps", b -> b.steps(0), "between 1 and 150", "0"),
                bad("steps", b -> b.steps(151), "between 1 and 150", "151"),
                bad("steps", b -> b.scheduler("lcm").steps(60), "original_inference_steps", "50"),
                bad("numImages", b -> b.numImages(9), "between 1 and 8", "9"),
                bad("guidanceScale", b -> b.guidanceScale(-1), "between 0 and 30", "-1"),
                bad("guidanceScale", b -> b.guidanceScale(Float.NaN), "between 0 and 30", "NaN"),
                bad("eta", b -> b.eta(2), "between 0 and 1", "2"),
                bad("aestheticScore", b -> b.micro(MicroConditioning.DEFAULT.withAestheticScores(11, 2.5)),
                        "between 0 and 10", "11.0"),
                bad("negativeAestheticScore", b -> b.micro(MicroConditioning.DEFAULT.withAestheticScores(6, Double.NaN)),
                        "between 0 and 10", "NaN"),
                bad("scheduler", b -> b.scheduler("karras_magic"), "karras_magic", "pndm, ddim"),
                bad("strength", b -> b.image(ImageInput.img2img(Pixels.solid(64, 64, 0, 0, 0), 0f)), "(0, 1]", "0.0"),
                bad("strength", b -> b.steps(10).image(ImageInput.img2img(Pixels.solid(64, 64, 0, 0, 0), 0.05f)),
                        "leaves no denoising step", "0.1"),
                bad("initImage", b -> b.image(ImageInput.img2img(Pixels.solid(32, 64, 0, 0, 0), 0.5f)), "32x64",
                        "64x64"),
                bad("initialNoise", b -> b.initialNoise(new float[10]), "holds 10 values", "1x4x8x8 = 256"));
    }

    private static Arguments bad(String field, UnaryOperator<GenerationRequest.Builder> change, String... fragments) {
        return Arguments.of(field, change, fragments);
    }

    /**
     * PNDM with its Runge-Kutta warm-up (skip_prk_steps false, as in bundles whose config leaves it
     * out) cannot start at a later step: refused naming the scheduler, not an internal error after
     * the first UNet pass.
     */
    @Test
    void pndmWithPrkStepsIsRefusedWhereARunStartsLater(@TempDir Path prk) throws Exception {
        OracleBundle oracle = OracleBundle.create(OracleBundle.Spec.defaults());
        oracle.writeTo(prk);
        Path config = prk.resolve("scheduler").resolve("scheduler_config.json");
        String withPrk = Files.readString(config).replaceAll("\"skip_prk_steps\"\\s*:\\s*true", "\"skip_prk_steps\": false");
        assertThat(withPrk).contains("\"skip_prk_steps\": false");
        Files.writeString(config, withPrk);
        try (StableDiffusionModel model = StableDiffusionModel.load(prk, EngineOptions.cpu().withIntraOpThreads(1))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(model, GenerationLimits.defaults());
            GenerationRequest img2img = GenerationRequest.builder("a red circle").size(64, 64).steps(10).scheduler("pndm")
                    .image(ImageInput.img2img(Pixels.solid(64, 64, 0, 0, 0), 0.5f)).build();
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> pipeline.generate(img2img, ProgressListener.NONE, Cancellation.NONE));
            assertThat(e.field()).isEqualTo("scheduler");
            assertThat(e.getMessage()).contains("skip_prk_steps false", "initImage with strength below 1", "ddim");

            GenerationRequest fromTheStart = GenerationRequest.builder("a red circle").size(64, 64).steps(4)
                    .scheduler("pndm").build();
            assertThat(pipeline.generate(fromTheStart, ProgressListener.NONE, Cancellation.NONE).images()).hasSize(1);
        }
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("badRequests")
    void isRefusedWithFieldAndLimit(String field, UnaryOperator<GenerationRequest.Builder> change, String[] fragments) {
        GenerationRequest request = change.apply(GenerationRequest.builder("a red circle").size(64, 64)).build();
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> models.pipeline().generate(request, ProgressListener.NONE, Cancellation.NONE));
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.getMessage()).startsWith(field + ": ").contains(fragments);
    }
}
