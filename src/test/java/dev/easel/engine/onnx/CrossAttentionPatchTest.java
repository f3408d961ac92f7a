package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import dev.easel.engine.onnx.CrossAttentionProjections.Projection;
import dev.easel.engine.patch.ClosedFormEdit;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The weight-patch mechanism on a random SD-shaped UNet: the projections found are exactly the
 * cross-attention k/v MatMuls, the patched tensors equal the TIME/UCE closed form evaluated
 * plainly in float64, and a session opened with the patches computes what a model file with only
 * those initializers replaced computes.
 */
class CrossAttentionPatchTest {

    /** RandomSdBundle.Spec.defaults(): down level 1 (1), mid (1), up level 1 (2) transformers. */
    private static final int ATTENTION_BLOCKS = 4;
    private static final int TEXT = 32;

    @TempDir
    static Path dir;
    static Path unet;

    @BeforeAll
    static void write() throws IOException {
        unet = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("sd")).resolve("unet/model.onnx");
    }

    @Test
    void findsExactlyTheCrossAttentionKeyAndValueProjections() throws IOException {
        List<Projection> found = CrossAttentionProjections.find(OnnxGraphIndex.read(unet));
        assertEquals(2 * ATTENTION_BLOCKS, found.size());
        // Independent of the finder: the fixture names its cross-attention weights attn2.to_k/to_v.
        Set<String> expected = ModelProto.parseFrom(Files.readAllBytes(unet)).getGraph().getInitializerList().stream()
                .map(TensorProto::getName).filter(n -> n.contains(".attn2.to_k.") || n.contains(".attn2.to_v."))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, found.stream().map(Projection::weight).collect(Collectors.toCollection(TreeSet::new)));
        for (Projection p : found) {
            assertEquals(p.weight().contains("to_k") ? Kind.KEY : Kind.VALUE, p.kind(), p.weight());
            assertEquals(TEXT, p.in());
            assertThat(p.transposed()).isFalse();
            assertEquals(1, p.dataType());
        }
    }

    @Test
    void float16IoAndExternalDataVariantsFindAndReadTheSameWeights(@TempDir Path other) throws IOException {
        OnnxGraphIndex plain = OnnxGraphIndex.read(unet);
        BundleVariants variants = BundleVariants.DEFAULT.withFloat16Io()
                .withExternalWeights(BundleVariants.ExternalWeights.MODEL_ONNX_DATA);
        Path file = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(variants)).writeTo(other)
                .resolve("unet/model.onnx");
        assertThat(file.resolveSibling("model.onnx_data")).exists();
        OnnxGraphIndex external = OnnxGraphIndex.read(file);
        List<Projection> found = CrossAttentionProjections.find(external); // through the input's Cast
        assertEquals(2 * ATTENTION_BLOCKS, found.size());
        for (Projection p : found) {
            // The fixture's fp16 variant keeps float32 weights behind Casts; same seed, same values.
            assertArrayEquals(plain.floats(plain.initializers().get(p.weight())),
                    external.floats(external.initializers().get(p.weight())), p.weight());
        }
    }

    @Test
    void patchesEqualTheClosedFormEvaluatedPlainly() throws IOException {
        Random rnd = new Random(7);
        List<double[]> sources = rows(rnd, 6);
        List<double[]> targets = rows(rnd, 6);
        List<double[]> preserved = rows(rnd, 4);
        double lambda = 0.1;
        ClosedFormEdit.Problem problem = new ClosedFormEdit.Problem(TEXT, sources, targets, preserved, lambda);
        ClosedFormEdit edit = ClosedFormEdit.solve(problem);
        OnnxGraphIndex graph = OnnxGraphIndex.read(unet);
        List<Projection> found = CrossAttentionProjections.find(graph);
        List<WeightPatch> patches = CrossAttentionPatch.compute(graph, found, EnumSet.allOf(Kind.class), edit);
        assertEquals(found.size(), patches.size());
        Map<String, TensorProto> originals = initializers(unet);
        for (WeightPatch patch : patches) {
            float[] stored = floats(originals.get(patch.initializer()));
            int out = (int) patch.dims()[1];
            double[][] w = new double[out][TEXT]; // the math's W = Sᵀ
            for (int i = 0; i < TEXT; i++) {
                for (int o = 0; o < out; o++) {
                    w[o][i] = stored[i * out + o];
                }
            }
            double[][] expected = closedForm(w, problem);
            for (int i = 0; i < TEXT; i++) {
                for (int o = 0; o < out; o++) {
                    assertEquals(expected[o][i], patch.values()[i * out + o], 1e-5, patch.initializer());
                }
            }
        }
    }

    @Test
    void anEditChangesOnlyTheProjectionsItNames() throws IOException, OrtException {
        Random rnd = new Random(11);
        ClosedFormEdit edit = ClosedFormEdit.solve(new ClosedFormEdit.Problem(TEXT, rows(rnd, 3), rows(rnd, 3),
                List.of(), 0.1));
        OnnxGraphIndex graph = OnnxGraphIndex.read(unet);
        List<WeightPatch> keys = CrossAttentionPatch.compute(graph, CrossAttentionProjections.find(graph),
                EnumSet.of(Kind.KEY), edit);
        assertEquals(ATTENTION_BLOCKS, keys.size());
        assertThat(keys).allMatch(p -> p.initializer().contains(".attn2.to_k."));

        // Reference: the model file with only those initializers replaced (through protobuf-java).
        ModelProto.Builder model = ModelProto.parseFrom(Files.readAllBytes(unet)).toBuilder();
        Map<String, WeightPatch> byName = new HashMap<>();
        keys.forEach(p -> byName.put(p.initializer(), p));
        int replaced = 0;
        for (int i = 0; i < model.getGraph().getInitializerCount(); i++) {
            TensorProto t = model.getGraph().getInitializer(i);
            WeightPatch p = byName.get(t.getName());
            if (p != null) {
                ByteBuffer raw = ByteBuffer.allocate(4 * p.values().length).order(ByteOrder.LITTLE_ENDIAN);
                raw.asFloatBuffer().put(p.values());
                model.getGraphBuilder().setInitializer(i, t.toBuilder().setRawData(ByteString.copyFrom(raw.array())));
                replaced++;
            }
        }
        assertEquals(keys.size(), replaced);

        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        float[] original;
        float[] patched;
        float[] reference;
        try (OnnxModel base = OnnxModel.open(sessions, unet);
             OnnxModel withPatches = OnnxModel.openPatched(sessions, unet, OnnxSessions.Role.LOOP, keys);
             OrtSession byFile = sessions.open(model.build().toByteArray(), "reference")) {
            original = runUnet(base.session());
            patched = runUnet(withPatches.session());
            reference = runUnet(byFile);
        }
        assertArrayEquals(reference, patched, 1e-5f);
        assertThat(maxDifference(original, patched)).isGreaterThan(1e-3);
    }

    @Test
    void externalDataModelsArePatchedToo(@TempDir Path other) throws IOException, OrtException {
        Path file = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(BundleVariants.DEFAULT
                .withExternalWeights(BundleVariants.ExternalWeights.MODEL_ONNX_DATA))).writeTo(other)
                .resolve("unet/model.onnx");
        Random rnd = new Random(5);
        ClosedFormEdit edit = ClosedFormEdit.solve(new ClosedFormEdit.Problem(TEXT, rows(rnd, 3), rows(rnd, 3),
                rows(rnd, 2), 0.1));
        OnnxGraphIndex inline = OnnxGraphIndex.read(unet);
        OnnxGraphIndex external = OnnxGraphIndex.read(file);
        List<WeightPatch> a = CrossAttentionPatch.compute(inline, CrossAttentionProjections.find(inline),
                EnumSet.allOf(Kind.class), edit);
        List<WeightPatch> b = CrossAttentionPatch.compute(external, CrossAttentionProjections.find(external),
                EnumSet.allOf(Kind.class), edit);
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel x = OnnxModel.openPatched(sessions, unet, OnnxSessions.Role.LOOP, a);
             OnnxModel y = OnnxModel.openPatched(sessions, file, OnnxSessions.Role.LOOP, b)) {
            assertArrayEquals(runUnet(x.session()), runUnet(y.session()), 1e-6f);
        }
    }

    @Test
    void aModelWithoutCrossAttentionIsAClearError() throws IOException {
        OnnxGraphIndex vae = OnnxGraphIndex.read(dir.resolve("sd/vae_decoder/model.onnx"));
        assertThatThrownBy(() -> CrossAttentionProjections.find(vae))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("encoder_hidden_states")
                .hasMessageContaining("no cross-attention");
    }

    /** W' = (λW + Σ W c* cᵀ + Σ W c_p c_pᵀ)(λI + Σ c cᵀ + Σ c_p c_pᵀ)⁻¹, written out. */
    static double[][] closedForm(double[][] w, ClosedFormEdit.Problem p) {
        List<double[]> sources = p.sources();
        List<double[]> targets = p.targets();
        List<double[]> preserved = p.preserved();
        double lambda = p.lambda();
        int out = w.length;
        int n = w[0].length;
        double[][] left = new double[out][n];
        double[][] right = new double[n][n];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < n; i++) {
                left[o][i] = lambda * w[o][i];
            }
        }
        for (int i = 0; i < n; i++) {
            right[i][i] = lambda;
        }
        List<double[]> cs = new ArrayList<>(sources);
        List<double[]> vs = new ArrayList<>(targets);
        cs.addAll(preserved);
        vs.addAll(preserved);
        for (int r = 0; r < cs.size(); r++) {
            double[] c = cs.get(r);
            double[] v = multiply(w, vs.get(r)); // v* = W c*
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < n; i++) {
                    left[o][i] += v[o] * c[i];
                }
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    right[i][j] += c[i] * c[j];
                }
            }
        }
        double[][] inverse = invert(right);
        double[][] result = new double[out][n];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += left[o][i] * inverse[i][j];
                }
                result[o][j] = s;
            }
        }
        return result;
    }

    private static double[] multiply(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            for (int i = 0; i < x.length; i++) {
                y[o] += w[o][i] * x[i];
            }
        }
        return y;
    }

    /** Gauss–Jordan with partial pivoting. */
    private static double[][] invert(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], 0, m[i], 0, n);
            m[i][n + i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            double[] tmp = m[col];
            m[col] = m[pivot];
            m[pivot] = tmp;
            double p = m[col][col];
            for (int j = 0; j < 2 * n; j++) {
                m[col][j] /= p;
            }
            for (int r = 0; r < n; r++) {
                if (r != col && m[r][col] != 0) {
                    double f = m[r][col];
                    for (int j = 0; j < 2 * n; j++) {
                        m[r][j] -= f * m[col][j];
                    }
                }
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m[i], n, inv[i], 0, n);
        }
        return inv;
    }

    static List<double[]> rows(Random rnd, int count) {
        return rowsOf(rnd, count, TEXT);
    }

    static List<double[]> rowsOf(Random rnd, int count, int width) {
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

    private static Map<String, TensorProto> initializers(Path model) throws IOException {
        return ModelProto.parseFrom(Files.readAllBytes(model)).getGraph().getInitializerList().stream()
                .collect(Collectors.toMap(TensorProto::getName, t -> t));
    }

    private static float[] floats(TensorProto t) {
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[raw.remaining() / 4];
        raw.asFloatBuffer().get(values);
        return values;
    }

    private static float[] runUnet(OrtSession session) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Random rnd = new Random(3);
        float[] sample = new float[2 * 4 * 16 * 16];
        float[] text = new float[2 * 77 * TEXT];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < text.length; i++) {
            text[i] = (float) rnd.nextGaussian();
        }
        try (OnnxTensor s = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(sample), new long[] {2, 4, 16, 16});
             OnnxTensor t = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(new float[] {500, 500}), new long[] {2});
             OnnxTensor e = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(text), new long[] {2, 77, TEXT});
             OrtSession.Result r = session.run(Map.of("sample", s, "timestep", t, "encoder_hidden_states", e))) {
            OnnxTensor outSample = (OnnxTensor) r.get(0);
            float[] out = new float[(int) outSample.getInfo().getNumElements()];
            outSample.getFloatBuffer().get(out);
            return out;
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
