package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.easel.fixtures.ClipFixture;
import dev.easel.fixtures.ClipGuidanceFixture;
import dev.easel.fixtures.OracleBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-derived backward pass of the fixture's CLIP guidance graph agrees with finite
 * differences of its own forward loss: the check any gradient graph (fixture or exported) must pass.
 */
class ClipGuidanceModelTest {

    private static final int CHANNELS = 4;
    private static final int SIDE = 8; // latents; the image is 64×64

    @TempDir
    Path dir;

    @Test
    void gradientMatchesFiniteDifferences() throws IOException {
        OracleBundle oracle = OracleBundle.create(OracleBundle.Spec.defaults());
        ClipFixture clip = ClipFixture.create(ClipFixture.Spec.defaults());
        Path file = new ClipGuidanceFixture(oracle, clip, 8 * SIDE).writeTo(dir);
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu().withIntraOpThreads(1));
        try (ClipGuidanceModel model = new ClipGuidanceModel(OnnxModel.open(sessions, file), sessions)) {
            Random rnd = new Random(3);
            int n = CHANNELS * SIDE * SIDE;
            float[] latents = new float[n];
            for (int i = 0; i < n; i++) {
                latents[i] = (float) (rnd.nextGaussian() * 2);
            }
            float[] text = clip.textEmbedding(clip.tokenizer().paddedIds("a red circle"));
            ClipModel.normalise(text, text.length);
            float[] grad = new float[n];
            float loss = model.lossAndGradient(latents, 0, CHANNELS, SIDE, SIDE, text, grad);
            assertThat(loss).isBetween(0f, 2f * (float) (Math.PI * Math.PI / 4));
            double gradNorm = 0;
            for (float g : grad) {
                gradNorm += g * g;
            }
            assertThat(Math.sqrt(gradNorm)).isGreaterThan(1e-3);

            float[] scratch = new float[n];
            double h = 1e-2;
            // Single coordinates, including the largest-gradient one, and random directions.
            int largest = 0;
            for (int i = 1; i < n; i++) {
                largest = Math.abs(grad[i]) > Math.abs(grad[largest]) ? i : largest;
            }
            for (int i : new int[] {largest, 0, 37, 101, n - 1}) {
                float[] direction = new float[n];
                direction[i] = 1;
                double fd = centralDifference(model, latents, direction, h, text, scratch);
                assertThat(fd).as("coordinate %d", i).isCloseTo(grad[i], within(2e-3 + 0.02 * Math.abs(grad[i])));
            }
            for (int k = 0; k < 3; k++) {
                float[] direction = new float[n];
                double analytic = 0;
                for (int i = 0; i < n; i++) {
                    direction[i] = (float) rnd.nextGaussian();
                    analytic += direction[i] * grad[i];
                }
                double fd = centralDifference(model, latents, direction, h / 10, text, scratch);
                assertThat(fd).as("direction %d", k).isCloseTo(analytic, within(2e-3 + 0.02 * Math.abs(analytic)));
            }
        }
    }

    private static double centralDifference(ClipGuidanceModel model, float[] x, float[] direction, double h, float[] text,
                                            float[] scratch) {
        float[] shifted = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            shifted[i] = (float) (x[i] + h * direction[i]);
        }
        double plus = model.lossAndGradient(shifted, 0, CHANNELS, SIDE, SIDE, text, scratch);
        for (int i = 0; i < x.length; i++) {
            shifted[i] = (float) (x[i] - h * direction[i]);
        }
        double minus = model.lossAndGradient(shifted, 0, CHANNELS, SIDE, SIDE, text, scratch);
        return (plus - minus) / (2 * h);
    }
}
