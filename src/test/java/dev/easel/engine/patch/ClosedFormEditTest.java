package dev.easel.engine.patch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The closed form's defining properties, and its cost at SD 1.5's cross-attention shapes. */
class ClosedFormEditTest {

    @Test
    void withASmallLambdaEditedKeysProjectAsTheirTargetsAndPreservedOnesAsBefore() {
        Random rnd = new Random(1);
        int width = 48;
        int out = 40;
        List<double[]> sources = rows(rnd, 5, width);
        List<double[]> targets = rows(rnd, 5, width);
        List<double[]> preserved = rows(rnd, 6, width);
        double[] s = rows(rnd, width, out).stream().flatMap(r -> java.util.Arrays.stream(r).boxed())
                .mapToDouble(Double::doubleValue).toArray();
        double[] edited = ClosedFormEdit.solve(new ClosedFormEdit.Problem(width, sources, targets, preserved, 1e-9))
                .apply(s, out);
        for (int r = 0; r < sources.size(); r++) {
            assertArrayEquals(project(s, targets.get(r), out), project(edited, sources.get(r), out), 1e-6);
        }
        for (double[] p : preserved) {
            assertArrayEquals(project(s, p, out), project(edited, p, out), 1e-6);
        }
    }

    @Test
    void anIdentityEditKeepsEveryBit() {
        Random rnd = new Random(2);
        List<double[]> c = rows(rnd, 4, 16);
        double[] s = new double[16 * 8];
        for (int i = 0; i < s.length; i++) {
            s[i] = i % 3 == 0 ? -0.0 : rnd.nextGaussian();
        }
        double[] edited = ClosedFormEdit.solve(new ClosedFormEdit.Problem(16, c, c, List.of(), 0.1)).apply(s, 8);
        for (int i = 0; i < s.length; i++) {
            assertEquals(Double.doubleToRawLongBits(s[i]), Double.doubleToRawLongBits(edited[i]));
        }
    }

    @Test
    void lambdaMustBePositiveAndEmbeddingsFinite() {
        assertThatThrownBy(() -> new ClosedFormEdit.Problem(2, List.of(), List.of(), List.of(), 0))
                .isInstanceOf(IllegalArgumentException.class);
        double[] bad = {1, Double.NaN};
        assertThatThrownBy(() -> ClosedFormEdit.solve(new ClosedFormEdit.Problem(2, List.of(bad), List.of(bad),
                List.of(), 0.1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("finite");
    }

    /**
     * SD 1.5: 768-wide text, 16 cross-attentions with 320/640/1280 channels, 32 k/v projections;
     * one replacement of 2-word concepts (75 rows) plus one preserved concept (75 rows).
     */
    @Test
    void timingAtSd15Shapes() {
        Random rnd = new Random(3);
        int width = 768;
        int[] channels = {320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
        List<double[]> sources = rows(rnd, 75, width);
        List<double[]> targets = rows(rnd, 75, width);
        List<double[]> preserved = rows(rnd, 75, width);
        List<double[]> weights = new ArrayList<>();
        for (int c : channels) {
            for (int kv = 0; kv < 2; kv++) {
                double[] w = new double[width * c];
                for (int i = 0; i < w.length; i++) {
                    w[i] = rnd.nextGaussian() / Math.sqrt(width);
                }
                weights.add(w);
            }
        }
        long t0 = System.nanoTime();
        ClosedFormEdit edit = ClosedFormEdit.solve(new ClosedFormEdit.Problem(width, sources, targets, preserved, 0.1));
        long t1 = System.nanoTime();
        for (int i = 0; i < weights.size(); i++) {
            double[] edited = edit.apply(weights.get(i), channels[i / 2]);
            assertThat(edited[0]).isFinite();
        }
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "SD 1.5 shapes: solve (768x768 Cholesky, 150 rows) %.3f s, apply to 32"
                + " projections %.3f s%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    private static double[] project(double[] s, double[] c, int out) {
        double[] y = new double[out];
        for (int i = 0; i < c.length; i++) {
            for (int o = 0; o < out; o++) {
                y[o] += c[i] * s[i * out + o];
            }
        }
        return y;
    }

    private static List<double[]> rows(Random rnd, int count, int width) {
        List<double[]> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            double[] row = new double[width];
            for (int i = 0; i < width; i++) {
                row[i] = rnd.nextGaussian();
            }
            rows.add(row);
        }
        return rows;
    }
}
