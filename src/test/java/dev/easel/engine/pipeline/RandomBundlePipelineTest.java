package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A bundle with Stable Diffusion's anatomy (ResNet blocks, cross-attention, timestep embedding)
 * and random weights: the same request always gives the same picture, and image i of a batch is
 * the picture its own seed gives alone.
 */
class RandomBundlePipelineTest {

    @TempDir
    static Path dir;
    static StableDiffusionModel model;
    static DiffusionPipeline pipeline;

    @BeforeAll
    static void load() throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load(bundle, EngineOptions.cpu());
        pipeline = new DiffusionPipeline(model, GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationResult generate(GenerationRequest request) {
        return pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE);
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a big red circle on a blue background").size(64, 64).steps(4).seed(21);
    }

    @Test
    void sameRequestSamePicture() {
        GenerationResult a = generate(request().build());
        GenerationResult b = generate(request().build());
        assertArrayEquals(a.images().get(0).image().rgb(), b.images().get(0).image().rgb());
        GenerationResult other = generate(request().seed(22).build());
        assertThat(Arrays.equals(a.finalLatents(), other.finalLatents())).isFalse();
    }

    @Test
    void imageOfABatchIsItsSeedAlone() {
        GenerationResult batch = generate(request().numImages(3).build());
        int perImage = batch.finalLatents().length / 3;
        for (int i = 0; i < 3; i++) {
            GenerationResult alone = generate(request().seed(21 + i).build());
            float[] slice = Arrays.copyOfRange(batch.finalLatents(), i * perImage, (i + 1) * perImage);
            // Batched and single UNet runs may pick different kernels: equal to float rounding.
            assertArrayEquals(alone.finalLatents(), slice, 1e-4f, "image " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"})
    void everySchedulerRunsTheRealAnatomy(String scheduler) {
        GenerationResult result = generate(request().scheduler(scheduler).build());
        for (float v : result.finalLatents()) {
            assertThat(v).isFinite();
        }
        byte[] rgb = result.images().get(0).image().rgb();
        assertThat(distinctValues(rgb)).isGreaterThan(10);
    }

    @Test
    void float16InpaintingBundleRuns(@TempDir Path other) throws IOException {
        BundleVariants variants = BundleVariants.DEFAULT.withFloat16Io().withInpainting().withInt64Ids();
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(variants)).writeTo(other);
        try (StableDiffusionModel fp16 = StableDiffusionModel.load(bundle, EngineOptions.cpu())) {
            assertThat(fp16.geometry().inpaintingUnet()).isTrue();
            byte[] mask = new byte[64 * 64];
            Arrays.fill(mask, 0, 64 * 32, (byte) 255);
            GenerationRequest request = request().image(ImageInput.inpaint(Pixels.solid(64, 64, 90, 90, 200),
                    new GrayImage(64, 64, mask), 1f)).build();
            GenerationResult result = new DiffusionPipeline(fp16, GenerationLimits.defaults())
                    .generate(request, ProgressListener.NONE, Cancellation.NONE);
            assertEquals(1, result.images().size());
            for (float v : result.finalLatents()) {
                assertThat(v).isFinite();
            }
        }
    }

    private static long distinctValues(byte[] data) {
        boolean[] seen = new boolean[256];
        long count = 0;
        for (byte b : data) {
            if (!seen[b & 0xFF]) {
                seen[b & 0xFF] = true;
                count++;
            }
        }
        return count;
    }
}
