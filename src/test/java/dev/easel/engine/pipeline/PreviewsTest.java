package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Denoising previews: the latent → RGB map, the decode of x0, and a result they never change. */
class PreviewsTest {

    /** SD's constants: 4 latent channels, VAE factor 8, scaling factor 0.18215. */
    private static final ModelGeometry SD = new ModelGeometry(4, 4, 8, 0.18215f, 768, 77);

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

    /** Records what a run hands over. */
    static final class Recorder implements ProgressListener {
        final List<Preview> previews = new ArrayList<>();
        final List<Integer> steps = new ArrayList<>();

        @Override
        public void onStep(int step, int total) {
            steps.add(step);
        }

        @Override
        public void onPreview(Preview preview) {
            previews.add(preview);
        }
    }

    @Test
    void approxMapsEachLatentPixelWithThePublishedFactors() {
        // One latent pixel per channel pattern: [C=4, h=1, w=2]
        float[] latent = {1, 0, /* c1 */ 0, 1, /* c2 */ 0, 0, /* c3 */ 0, 0};
        float[] rgb = new float[3 * 2];
        LatentRgb.SD15.apply(latent, 0, 1, 2, rgb);
        // Pixel 0 is channel 0 alone, pixel 1 channel 1 alone: their rows of the table.
        assertArrayEquals(new float[]{0.3512f, 0.3250f, 0.2297f, 0.4974f, 0.3227f, 0.2350f}, rgb, 1e-6f);
        float[] xl = new float[3];
        LatentRgb.SDXL.apply(new float[]{0, 0, 0, 2}, 0, 1, 1, xl);
        assertArrayEquals(new float[]{0.1084f - 2 * 0.3165f, -0.0175f - 2 * 0.2492f, -0.0011f - 2 * 0.2188f}, xl, 1e-6f);
    }

    @Test
    void approxPreviewIsTheMapAtLatentSizeEnlargedByTheVaeFactor() {
        List<Preview> got = new ArrayList<>();
        ProgressListener sink = new ProgressListener() {
            @Override
            public void onStep(int step, int total) {
            }

            @Override
            public void onPreview(Preview preview) {
                got.add(preview);
            }
        };
        // A map that shows channel 0 as grey: x0 = 1 → white, -1 → black, 0 → mid grey.
        LatentRgb grey = new LatentRgb(new float[][]{{1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}}, new float[3], "test");
        Previewer previewer = new Previewer(new PreviewOptions(2, PreviewMode.APPROX, 128), drawing(grey, null),
                new Previewer.Target(SD, 1, 2, 3, 5, sink));
        float[] x0 = new float[4 * 2 * 3];
        x0[0] = 1;
        x0[1] = -1;
        assertThat(previewer.due(1)).isFalse();
        assertThat(previewer.due(2)).isTrue();
        previewer.show(x0, 2);

        assertThat(got).hasSize(1);
        Preview p = got.get(0);
        assertThat(p.step()).isEqualTo(2);
        assertThat(p.total()).isEqualTo(5);
        assertThat(p.mode()).isEqualTo(PreviewMode.APPROX);
        // 3×2 latents × 8 = 24×16, within 128
        assertThat(p.width()).isEqualTo(24);
        assertThat(p.height()).isEqualTo(16);
        RgbImage image = new PngDecoder().decode(p.png()).rgb();
        assertThat(image.width()).isEqualTo(24);
        assertThat(image.height()).isEqualTo(16);
        assertThat(pixel(image, 0, 0)).isEqualTo(255); // latent pixel (0,0): 1
        assertThat(pixel(image, 7, 7)).isEqualTo(255);
        assertThat(pixel(image, 8, 0)).isEqualTo(0); // latent pixel (0,1): -1
        assertThat(pixel(image, 16, 8)).isEqualTo(128); // 0 → mid grey
    }

    @Test
    void everyImageOfTheJobIsShownInAGridRowByRow() {
        Recorder sink = new Recorder();
        LatentRgb grey = new LatentRgb(new float[][]{{1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}}, new float[3], "test");
        // Three images of 2×3 latents: a 2×2 grid of 24×16 cells, the fourth cell empty.
        Previewer previewer = new Previewer(new PreviewOptions(1, PreviewMode.APPROX, 128), drawing(grey, null),
                new Previewer.Target(SD, 3, 2, 3, 1, sink));
        int perImage = 4 * 2 * 3;
        float[] x0 = new float[3 * perImage];
        java.util.Arrays.fill(x0, 0, perImage, 1); // image 0 white
        java.util.Arrays.fill(x0, perImage, 2 * perImage, -1); // image 1 black
        x0[2 * perImage + 5] = 1; // image 2 grey but its last latent pixel (1, 2) white
        previewer.show(x0, 1);

        Preview p = sink.previews.get(0);
        assertThat(p.width()).isEqualTo(48);
        assertThat(p.height()).isEqualTo(32);
        RgbImage image = new PngDecoder().decode(p.png()).rgb();
        assertThat(pixel(image, 0, 0)).isEqualTo(255); // image 0, top left
        assertThat(pixel(image, 23, 15)).isEqualTo(255);
        assertThat(pixel(image, 24, 0)).isEqualTo(0); // image 1, top right
        assertThat(pixel(image, 47, 15)).isEqualTo(0);
        assertThat(pixel(image, 0, 16)).isEqualTo(128); // image 2, bottom left
        assertThat(pixel(image, 23, 31)).isEqualTo(255); // its latent pixel (1, 2)
        assertThat(pixel(image, 24, 16)).isEqualTo(128); // no fourth image
        assertThat(pixel(image, 47, 31)).isEqualTo(128);
    }

    @Test
    void aDecodePreviewOfTwoImagesDecodesEachAndFitsTheGrid() {
        Recorder sink = new Recorder();
        List<float[]> decoded = new ArrayList<>();
        Previewer.Decoder decoder = new Previewer.Decoder() {
            @Override
            public void decode(float[] unscaled, float[] pixels) {
                decoded.add(unscaled.clone());
                java.util.Arrays.fill(pixels, unscaled[0] > 0 ? 1f : -1f);
            }

            @Override
            public void close() {
            }
        };
        // Two images of 4×4 latents decode to 32×32 each: a 64×32 grid, fitted to max side 32 → 32×16.
        Previewer previewer = new Previewer(new PreviewOptions(1, PreviewMode.DECODE, 32), drawing(null, decoder),
                new Previewer.Target(SD, 2, 4, 4, 1, sink));
        float[] x0 = new float[2 * 4 * 4 * 4];
        java.util.Arrays.fill(x0, 0, 64, 0.5f);
        java.util.Arrays.fill(x0, 64, 128, -0.5f);
        previewer.show(x0, 1);

        assertThat(decoded).hasSize(2);
        assertThat(decoded.get(0)[0]).isEqualTo(0.5f / 0.18215f, org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(decoded.get(1)[63]).isEqualTo(-0.5f / 0.18215f, org.assertj.core.data.Offset.offset(1e-5f));
        Preview p = sink.previews.get(0);
        assertThat(p.width()).isEqualTo(32);
        assertThat(p.height()).isEqualTo(16);
        RgbImage image = new PngDecoder().decode(p.png()).rgb();
        assertThat(pixel(image, 4, 8)).isEqualTo(255);
        assertThat(pixel(image, 27, 8)).isEqualTo(0);
    }

    @Test
    void theLargestJobsDecodePreviewIsEightCellsFittedToMaxSide() {
        // The limits' largest job: 8 images of 1024×1024 (128×128 latents). Each decoded image is
        // fitted to its cell before it is placed: a 3×3 grid of 42-px cells within max side 128.
        Recorder sink = new Recorder();
        int[] decodes = {0};
        Previewer.Decoder decoder = new Previewer.Decoder() {
            @Override
            public void decode(float[] unscaled, float[] pixels) {
                decodes[0]++;
                java.util.Arrays.fill(pixels, unscaled[0] > 0 ? 1f : -1f);
            }

            @Override
            public void close() {
            }
        };
        Previewer previewer = new Previewer(new PreviewOptions(1, PreviewMode.DECODE, 128), drawing(null, decoder),
                new Previewer.Target(SD, 8, 128, 128, 1, sink));
        int perImage = 4 * 128 * 128;
        float[] x0 = new float[8 * perImage];
        for (int image = 0; image < 8; image++) {
            java.util.Arrays.fill(x0, image * perImage, (image + 1) * perImage, image % 2 == 0 ? 0.5f : -0.5f);
        }
        previewer.show(x0, 1);

        assertThat(decodes[0]).isEqualTo(8);
        Preview p = sink.previews.get(0);
        assertThat(p.width()).isEqualTo(126);
        assertThat(p.height()).isEqualTo(126);
        RgbImage image = new PngDecoder().decode(p.png()).rgb();
        assertThat(pixel(image, 20, 20)).isEqualTo(255); // image 0
        assertThat(pixel(image, 62, 20)).isEqualTo(0); // image 1
        assertThat(pixel(image, 104, 104)).isEqualTo(128); // no ninth image
    }

    @Test
    void decodePreviewDecodesTheUnscaledCleanEstimateAndFitsMaxSide() {
        List<Preview> got = new ArrayList<>();
        List<float[]> decoded = new ArrayList<>();
        ProgressListener sink = new ProgressListener() {
            @Override
            public void onStep(int step, int total) {
            }

            @Override
            public void onPreview(Preview preview) {
                got.add(preview);
            }
        };
        Previewer.Decoder decoder = new Previewer.Decoder() {
            @Override
            public void decode(float[] unscaled, float[] pixels) {
                decoded.add(unscaled.clone());
                java.util.Arrays.fill(pixels, 1f);
            }

            @Override
            public void close() {
            }
        };
        // 8×16 latents decode to 64×128 pixels; max side 32 → 16×32.
        Previewer previewer = new Previewer(new PreviewOptions(3, PreviewMode.DECODE, 32), drawing(null, decoder),
                new Previewer.Target(SD, 1, 8, 16, 10, sink));
        float[] x0 = new float[4 * 8 * 16];
        for (int i = 0; i < x0.length; i++) {
            x0[i] = i * 0.001f;
        }
        for (int step = 1; step <= 10; step++) {
            if (previewer.due(step)) {
                previewer.show(x0, step);
            }
        }
        assertThat(got).extracting(Preview::step).containsExactly(3, 6, 9);
        float[] expected = new float[x0.length];
        for (int i = 0; i < x0.length; i++) {
            expected[i] = x0[i] / 0.18215f;
        }
        assertArrayEquals(expected, decoded.get(0), 1e-6f);
        assertThat(got.get(0).width()).isEqualTo(32);
        assertThat(got.get(0).height()).isEqualTo(16);
        assertThat(pixel(new PngDecoder().decode(got.get(0).png()).rgb(), 5, 5)).isEqualTo(255);
    }

    @Test
    void fitRecoversALinearDecoderAndKeepsPublishedFactorsOnlyWhereTheyFit() {
        LatentRgb other = new LatentRgb(new float[][]{{0.1f, -0.2f, 0.3f}, {0.5f, 0.1f, 0f}, {0f, 0f, 0.4f},
                {-0.3f, 0.2f, 0.1f}}, new float[]{0.05f, -0.1f, 0.2f}, "truth");
        LatentRgb fitted = LatentRgb.of(SD, new int[]{8, 8}, linearDecoder(other));
        assertThat(fitted.source()).isEqualTo("fitted");
        for (int c = 0; c < 4; c++) {
            assertArrayEquals(other.factors()[c], fitted.factors()[c], 1e-3f, "channel " + c);
        }
        assertArrayEquals(other.bias(), fitted.bias(), 1e-3f);

        assertThat(LatentRgb.of(SD, new int[]{8, 8}, linearDecoder(LatentRgb.SD15))).isSameAs(LatentRgb.SD15);
        ModelGeometry xl = new ModelGeometry(4, 4, 8, 0.13025f, 2048, 77);
        assertThat(LatentRgb.of(xl, new int[]{8, 8}, linearDecoder(LatentRgb.SDXL))).isSameAs(LatentRgb.SDXL);
        // A 16-channel latent space has no published factors here: fitted.
        ModelGeometry wide = new ModelGeometry(16, 16, 8, 1f, 768, 77);
        LatentRgb sixteen = new LatentRgb(new float[16][3], new float[]{0.1f, 0.2f, 0.3f}, "truth");
        assertThat(LatentRgb.of(wide, new int[]{4, 4}, linearDecoder(sixteen)).source()).isEqualTo("fitted");
    }

    @Test
    void theTestBundlesOwnVaeGetsFittedFactors() {
        // The random bundle claims SD's scaling factor but has a VAE of its own: SD's factors do not fit it.
        assertThat(model.latentRgb().source()).isEqualTo("fitted");
        assertThat(model.latentRgb()).isSameAs(model.latentRgb());
    }

    @ParameterizedTest
    @ValueSource(strings = {"euler_a", "ddim", "dpmpp_2m"})
    void previewsNeverChangeTheResult(String scheduler) {
        GenerationRequest plain = GenerationRequest.builder("a big red circle on a blue background").size(64, 64)
                .steps(6).seed(21).numImages(2).scheduler(scheduler).build();
        GenerationResult without = pipeline.generate(plain, ProgressListener.NONE, Cancellation.NONE);
        for (PreviewMode mode : PreviewMode.values()) {
            Recorder recorder = new Recorder();
            GenerationResult with = pipeline.generate(plain.withPreviews(Optional.of(new PreviewOptions(2, mode, 64))),
                    recorder, Cancellation.NONE);
            assertArrayEquals(without.finalLatents(), with.finalLatents(), mode.toString());
            for (int i = 0; i < 2; i++) {
                assertThat(with.images().get(i).image()).as(mode + " image " + i).isEqualTo(without.images().get(i).image());
            }
            // After steps 2 and 4; not after 6, the last: the result follows it.
            assertThat(recorder.previews).extracting(Preview::step).containsExactly(2, 4);
            assertThat(recorder.previews).allSatisfy(p -> {
                assertThat(p.total()).isEqualTo(6);
                assertThat(p.mode()).isEqualTo(mode);
                RgbImage image = new PngDecoder().decode(p.png()).rgb();
                // Both 64×64 images side by side, fitted to max side 64.
                assertThat(image.width()).isEqualTo(p.width()).isEqualTo(64);
                assertThat(image.height()).isEqualTo(p.height()).isEqualTo(32);
            });
            assertThat(recorder.steps).containsExactly(1, 2, 3, 4, 5, 6);
        }
    }

    @Test
    void lastDecodePreviewIsCloseToTheResult() {
        // DDIM's x0 at the last step but one is nearly the final latents: the decode preview shows the picture.
        GenerationRequest request = GenerationRequest.builder("a big red circle on a blue background").size(64, 64)
                .steps(8).seed(3).scheduler("ddim").previews(new PreviewOptions(7, PreviewMode.DECODE, 64)).build();
        Recorder recorder = new Recorder();
        GenerationResult result = pipeline.generate(request, recorder, Cancellation.NONE);
        assertThat(recorder.previews).hasSize(1);
        byte[] preview = new PngDecoder().decode(recorder.previews.get(0).png()).rgb().rgb();
        byte[] last = result.images().get(0).image().rgb();
        double diff = 0;
        for (int i = 0; i < last.length; i++) {
            diff += Math.abs((preview[i] & 0xff) - (last[i] & 0xff));
        }
        assertThat(diff / last.length).isLessThan(16);
    }

    @Test
    void badOptionsNameTheField() {
        assertThatThrownBy(() -> new PreviewOptions(0, PreviewMode.APPROX, 128))
                .isInstanceOf(InvalidRequestException.class).hasMessage("previews.every: must be at least 1, got 0");
        assertThatThrownBy(() -> new PreviewOptions(1, PreviewMode.APPROX, 4096))
                .hasMessage("previews.maxSide: must be 8..1024, got 4096");
        assertThatThrownBy(() -> PreviewMode.of("full")).hasMessageContaining("previews.mode");
    }

    private static int pixel(RgbImage image, int x, int y) {
        return image.rgb()[(y * image.width() + x) * 3] & 0xff;
    }

    private static Previewer.Drawing drawing(LatentRgb map, Previewer.Decoder decoder) {
        return new Previewer.Drawing() {
            @Override
            public LatentRgb latentRgb() {
                return map;
            }

            @Override
            public Previewer.Decoder decoder() {
                return decoder;
            }
        };
    }

    /** A "VAE" that is exactly {@code map}, each latent pixel painted over its f×f block. */
    private static BiConsumer<float[], float[]> linearDecoder(LatentRgb map) {
        return (latent, image) -> {
            int plane = image.length / 3;
            int side = (int) Math.sqrt(plane);
            int latentSide = side / 8;
            float[] small = new float[3 * latentSide * latentSide];
            map.apply(latent, 0, latentSide, latentSide, small);
            for (int k = 0; k < 3; k++) {
                for (int y = 0; y < side; y++) {
                    for (int x = 0; x < side; x++) {
                        image[k * plane + y * side + x] = small[k * latentSide * latentSide + (y / 8) * latentSide + x / 8];
                    }
                }
            }
        };
    }
}
