package dev.easel.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.onnx.ClipGuidanceModel;
import dev.easel.engine.onnx.ClipModel;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.OnnxModel;
import dev.easel.engine.onnx.OnnxSessions;
import dev.easel.engine.onnx.VaeDecoder;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The demo bundle's CLIP guidance graph (made by src/demo-model/easel_demo/clip_guidance.py):
 * it loads through Easel's {@link ClipGuidanceModel}, its {@code grad} is the derivative of its own
 * {@code loss} (central finite differences, as for the fixture in ClipGuidanceModelTest), and that
 * loss is the spherical distance the bundle's own VAE decoder and CLIP towers give.
 */
class DemoClipGuidanceTest {

    private static final Path GRAPH = DemoBundle.DIR.resolve(StableDiffusionModel.CLIP_GUIDANCE);
    private static final int CHANNELS = 4;
    private static final int SIDE = 16; // latents of the demo model's 64×64 pictures
    private static final int N = CHANNELS * SIDE * SIDE;
    private static final String PROMPT = "a big red circle on the left on a blue background";

    static OnnxSessions sessions;
    static ClipGuidanceModel guidance;
    static ClipModel clip;
    static float[] text;

    @BeforeAll
    static void load() {
        sessions = new OnnxSessions(EngineOptions.cpu().withIntraOpThreads(1));
        guidance = new ClipGuidanceModel(OnnxModel.open(sessions, GRAPH), sessions);
        clip = ClipModel.load(ClipLayout.of(DemoBundle.DIR.resolve(ClipLayout.FOLDER),
                Optional.of(DemoBundle.DIR.resolve("tokenizer"))), sessions);
        text = clip.embedTexts(List.of(PROMPT));
    }

    @AfterAll
    static void close() {
        guidance.close();
        clip.close();
    }

    /** Latents at the decoder's input scale: the sampler's clean estimates divided by scaling_factor (≈ 0.55). */
    private static float[] latents(long seed) {
        Random rnd = new Random(seed);
        float[] z = new float[N];
        for (int i = 0; i < N; i++) {
            z[i] = (float) (rnd.nextGaussian() * 1.8);
        }
        return z;
    }

    @Test
    void graphTakesTheDemoModelsLatentsAndClipEmbeddings() {
        assertThat(guidance.latentShape()).containsExactly(CHANNELS, SIDE, SIDE);
        assertThat(guidance.textDim()).isEqualTo(clip.dim());
    }

    @Test
    void gradientMatchesFiniteDifferencesOfItsLoss() {
        for (long seed : new long[] {1, 2}) {
            float[] z = latents(seed);
            float[] grad = new float[N];
            float loss = guidance.lossAndGradient(z, 0, CHANNELS, SIDE, SIDE, text, grad);
            assertThat(loss).isBetween(0f, (float) (Math.PI * Math.PI / 2));
            double norm = 0;
            int largest = 0;
            for (int i = 0; i < N; i++) {
                norm += grad[i] * grad[i];
                largest = Math.abs(grad[i]) > Math.abs(grad[largest]) ? i : largest;
            }
            norm = Math.sqrt(norm);
            assertThat(norm).isGreaterThan(1e-3);
            float[] scratch = new float[N];
            // Single coordinates (the largest-gradient one among them): h = 1e-2 keeps float32 round-off
            // (~1e-7 of a loss near 1) far below the gradient's scale.
            Random rnd = new Random(seed + 10);
            int[] coordinates = {largest, 0, rnd.nextInt(N), rnd.nextInt(N), N - 1};
            for (int i : coordinates) {
                float[] direction = new float[N];
                direction[i] = 1;
                double fd = centralDifference(z, direction, 1e-2, scratch);
                System.out.printf("seed %d coordinate %d: grad %.6g, central difference %.6g%n", seed, i, grad[i], fd);
                assertThat(fd).as("coordinate %d", i).isCloseTo(grad[i], within(5e-5 + 0.01 * Math.abs(grad[i])));
            }
            // Random unit directions: the directional derivative is grad · d.
            for (int k = 0; k < 3; k++) {
                float[] direction = new float[N];
                double length = 0;
                for (int i = 0; i < N; i++) {
                    direction[i] = (float) rnd.nextGaussian();
                    length += direction[i] * direction[i];
                }
                double analytic = 0;
                for (int i = 0; i < N; i++) {
                    direction[i] /= (float) Math.sqrt(length);
                    analytic += direction[i] * grad[i];
                }
                double fd = centralDifference(z, direction, 1e-2, scratch);
                System.out.printf("seed %d direction %d: grad·d %.6g, central difference %.6g (|grad| %.4g)%n", seed, k,
                        analytic, fd, norm);
                assertThat(fd).as("direction %d", k).isCloseTo(analytic, within(5e-4 * norm + 0.01 * Math.abs(analytic)));
            }
        }
    }

    @Test
    void lossIsTheSphericalDistanceOfTheBundlesOwnDecoderAndClip() {
        float[] z = latents(3);
        float loss = guidance.lossAndGradient(z, 0, CHANNELS, SIDE, SIDE, text, new float[N]);
        int side = SIDE * 4;
        float[] decoded = new float[3 * side * side];
        try (VaeDecoder decoder = new VaeDecoder(OnnxModel.open(sessions, DemoBundle.DIR.resolve("vae_decoder/model.onnx")),
                sessions);
             VaeDecoder.DecoderRun run = decoder.start(CHANNELS, SIDE, SIDE, 4)) {
            run.decode(z, 0, decoded);
        }
        float[] unit = new float[decoded.length];
        for (int i = 0; i < decoded.length; i++) {
            unit[i] = (decoded[i] + 1) / 2; // no clamp, as in the graph
        }
        float[] image = clip.embedImages(unit, 1, side, side);
        double distance = 0;
        for (int k = 0; k < image.length; k++) {
            distance += (image[k] - text[k]) * (image[k] - text[k]);
        }
        double expected = 2 * Math.pow(Math.asin(Math.sqrt(distance) / 2), 2);
        System.out.printf("graph loss %.6f, decoder + CLIP towers %.6f%n", loss, expected);
        assertThat((double) loss).isCloseTo(expected, within(1e-4));
    }

    private static double centralDifference(float[] x, float[] direction, double h, float[] scratch) {
        float[] shifted = new float[N];
        for (int i = 0; i < N; i++) {
            shifted[i] = (float) (x[i] + h * direction[i]);
        }
        double plus = guidance.lossAndGradient(shifted, 0, CHANNELS, SIDE, SIDE, text, scratch);
        for (int i = 0; i < N; i++) {
            shifted[i] = (float) (x[i] - h * direction[i]);
        }
        double minus = guidance.lossAndGradient(shifted, 0, CHANNELS, SIDE, SIDE, text, scratch);
        return (plus - minus) / (2 * h);
    }
}
