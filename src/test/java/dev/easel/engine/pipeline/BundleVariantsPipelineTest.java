package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.BundleVariants.ExternalWeights;
import dev.easel.fixtures.BundleVariants.TimestepKind;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every export variant real bundles come in loads and generates the known picture. */
class BundleVariantsPipelineTest {

    private static final String PROMPT = "photo of a red circle";

    static Stream<Arguments> variants() {
        BundleVariants d = BundleVariants.DEFAULT;
        return Stream.of(
                Arguments.of("int64 input_ids", d.withInt64Ids(), 1),
                Arguments.of("scalar float timestep", d.withTimestep(TimestepKind.FLOAT32_SCALAR), 1),
                Arguments.of("int64 timestep", d.withTimestep(TimestepKind.INT64_BATCH), 1),
                Arguments.of("int32 timestep", d.withTimestep(TimestepKind.INT32_BATCH), 1),
                Arguments.of("float16 model inputs and outputs", d.withFloat16Io(), 3),
                Arguments.of("weights in model.onnx_data", d.withExternalWeights(ExternalWeights.MODEL_ONNX_DATA), 1),
                Arguments.of("weights in weights.pb", d.withExternalWeights(ExternalWeights.WEIGHTS_PB), 1),
                Arguments.of("SD 2.x '!' padding", d.withSd2Padding(), 1),
                Arguments.of("v-prediction", d.withPredictionType("v_prediction"), 1),
                Arguments.of("encoder with latent_parameters", d.withLatentParameters(), 1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void generatesTheKnownPicture(String name, BundleVariants variants, int tolerance, @TempDir Path dir) {
        try (OracleModels models = OracleModels.write(dir, variants)) {
            for (String scheduler : new String[] {"dpmpp_2m", "euler"}) {
                GenerationRequest request = GenerationRequest.builder(PROMPT).size(64, 48).steps(10)
                        .guidanceScale(2f).scheduler(scheduler).seed(3).build();
                RgbImage image = models.pipeline().generate(request, ProgressListener.NONE, Cancellation.NONE)
                        .images().get(0).image();
                Pixels.assertSolid(image, models.decode(models.guidedTarget(PROMPT, "", 2f)), tolerance);
            }
            // img2img exercises the VAE encoder's output variant too.
            GenerationRequest img2img = GenerationRequest.builder(PROMPT).size(64, 48).steps(10).guidanceScale(1f)
                    .scheduler("euler").image(ImageInput.img2img(Pixels.solid(64, 48, 10, 20, 30), 0.7f)).build();
            RgbImage image = models.pipeline().generate(img2img, ProgressListener.NONE, Cancellation.NONE)
                    .images().get(0).image();
            Pixels.assertSolid(image, models.colour(PROMPT), tolerance);
        }
    }
}
