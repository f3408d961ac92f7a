package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.easel.engine.image.GrayImage;
import dev.easel.engine.image.RgbImage;
import dev.easel.fixtures.BundleVariants;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Inpainting keeps the unmasked region and paints the prompt into the masked one — with 9-channel
 * inpainting UNets (the model sees mask and masked image) and with ordinary UNets (the pipeline
 * blends the kept region back after every step).
 */
class InpaintingPipelineTest {

    private static final String PROMPT = "blue square";
    private static final int W = 64;
    private static final int H = 48;
    /** The kept colour, 8-bit. */
    private static final int[] KEPT = {200, 60, 40};

    @ParameterizedTest(name = "{0}-channel UNet")
    @ValueSource(ints = {9, 4})
    void keepsTheUnmaskedHalfAndPaintsTheMaskedHalf(int channels, @TempDir Path dir) {
        BundleVariants variants = channels == 9 ? BundleVariants.DEFAULT.withInpainting() : BundleVariants.DEFAULT;
        try (OracleModels models = OracleModels.write(dir, variants)) {
            for (String scheduler : new String[] {"euler", "dpmpp_2m", "euler_a"}) {
                RgbImage image = models.pipeline().generate(request(scheduler), ProgressListener.NONE,
                        Cancellation.NONE).images().get(0).image();
                // Left half (whole latent columns 0-3) repainted, right half kept.
                Pixels.assertRegion(image, 0, 0, W / 2, H, models.colour(PROMPT), 1);
                float[] kept = models.oracle().decodePixel(
                        models.oracle().encodePatch(Pixels.normalized(KEPT[0], KEPT[1], KEPT[2])));
                Pixels.assertRegion(image, W / 2, 0, W, H, kept, 1);
            }
        }
    }

    @Test
    void maskOfAnotherSizeIsRefused(@TempDir Path dir) {
        try (OracleModels models = OracleModels.write(dir, BundleVariants.DEFAULT.withInpainting())) {
            GenerationRequest request = GenerationRequest.builder(PROMPT).size(W, H).image(ImageInput.inpaint(
                    Pixels.solid(W, H, 1, 2, 3), GrayImage.luma(Pixels.solid(W, H + 8, 255, 255, 255)), 1f)).build();
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                    () -> models.pipeline().generate(request, ProgressListener.NONE, Cancellation.NONE));
            assertThat(e.field()).isEqualTo("mask");
            assertThat(e.getMessage()).contains("64x56", "64x48");
        }
    }

    @Test
    void inpaintingUnetWithoutAnImageRepaintsEverything(@TempDir Path dir) {
        try (OracleModels models = OracleModels.write(dir, BundleVariants.DEFAULT.withInpainting())) {
            RgbImage image = models.pipeline().generate(GenerationRequest.builder(PROMPT).size(W, H).steps(8)
                    .guidanceScale(1f).scheduler("euler").build(), ProgressListener.NONE, Cancellation.NONE).images().get(0).image();
            Pixels.assertSolid(image, models.colour(PROMPT), 1);
        }
    }

    private static GenerationRequest request(String scheduler) {
        RgbImage init = Pixels.solid(W, H, KEPT[0], KEPT[1], KEPT[2]);
        byte[] mask = new byte[W * H];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W / 2; x++) {
                mask[y * W + x] = (byte) 255;
            }
        }
        return GenerationRequest.builder(PROMPT).size(W, H).steps(10).guidanceScale(1f).scheduler(scheduler)
                .image(ImageInput.inpaint(init, new GrayImage(W, H, mask), 1f)).build();
    }
}
