package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import dev.easel.engine.onnx.CrossAttentionProjections.Projection;
import dev.easel.engine.patch.ClosedFormEdit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A float16 attention whose projections carry no to_k/to_v names, reached through a Reshape, with
 * the value's weight first in the graph: key and value are told apart by structure, and the
 * float16 weights are patched (rounded to float16) and accepted by ONNX Runtime.
 */
class Float16CrossAttentionTest {

    private static final int TEXT = 8;
    private static final int INNER = 6;

    @Test
    void float16WeightsArePatchedAndKeyAndValueToldApartByStructure(@TempDir Path dir)
            throws IOException, OrtException {
        Random rnd = new Random(9);
        Path file = dir.resolve("model.onnx");
        Files.write(file, model(rnd).toByteArray());
        OnnxGraphIndex graph = OnnxGraphIndex.read(file);
        List<Projection> found = CrossAttentionProjections.find(graph);
        assertEquals(2, found.size());
        assertEquals("w_b", found.get(0).weight());
        assertEquals(Kind.VALUE, found.get(0).kind());
        assertEquals("w_a", found.get(1).weight());
        assertEquals(Kind.KEY, found.get(1).kind());
        assertThat(found).allMatch(p -> p.dataType() == 10 && p.in() == TEXT && p.out() == INNER);

        List<double[]> sources = CrossAttentionPatchTest.rowsOf(rnd, 2, TEXT);
        List<double[]> targets = CrossAttentionPatchTest.rowsOf(rnd, 2, TEXT);
        ClosedFormEdit.Problem problem = new ClosedFormEdit.Problem(TEXT, sources, targets, List.of(), 0.1);
        ClosedFormEdit edit = ClosedFormEdit.solve(problem);
        List<WeightPatch> patches = CrossAttentionPatch.compute(graph, found, EnumSet.allOf(Kind.class), edit);
        for (WeightPatch patch : patches) {
            assertEquals(10, patch.dataType());
            float[] stored = graph.floats(graph.initializers().get(patch.initializer()));
            double[][] w = new double[INNER][TEXT];
            for (int i = 0; i < TEXT; i++) {
                for (int o = 0; o < INNER; o++) {
                    w[o][i] = stored[i * INNER + o];
                }
            }
            double[][] expected = CrossAttentionPatchTest.closedForm(w, problem);
            for (int i = 0; i < TEXT; i++) {
                for (int o = 0; o < INNER; o++) {
                    assertEquals(expected[o][i], patch.values()[i * INNER + o], 1e-5, patch.initializer());
                }
            }
        }
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel base = OnnxModel.open(sessions, file);
             OnnxModel patched = OnnxModel.openPatched(sessions, file, OnnxSessions.Role.STAGE, patches)) {
            float[] a = run(base.session());
            float[] b = run(patched.session());
            assertThat(a).isNotEqualTo(b);
        }
    }

    @Test
    void gemmWithTransposedWeightsIsEditedInItsOwnLayout(@TempDir Path dir) throws IOException {
        Random rnd = new Random(12);
        GraphProto.Builder g = GraphProto.newBuilder().setName("gemm_projection");
        g.addInput(value(CrossAttentionProjections.TEXT_INPUT, 1, 5, TEXT));
        g.addOutput(value("k", 5, INNER));
        TensorProto w = half("attn2.to_k.weight", rnd, INNER, TEXT).toBuilder() // stored [out, in]
                .setDataType(TensorProto.DataType.FLOAT_VALUE).clearRawData().build();
        float[] values = new float[INNER * TEXT];
        TensorProto.Builder fp32 = w.toBuilder();
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian();
            fp32.addFloatData(values[i]); // float_data rather than raw_data
        }
        g.addInitializer(fp32);
        g.addInitializer(TensorProto.newBuilder().setName("shape").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(2).addInt64Data(5).addInt64Data(TEXT));
        g.addNode(node("Reshape", "flat", CrossAttentionProjections.TEXT_INPUT, "shape"));
        g.addNode(node("Gemm", "k", "flat", "attn2.to_k.weight").toBuilder().addAttribute(AttributeProto.newBuilder()
                .setName("transB").setType(AttributeProto.AttributeType.INT).setI(1)).build());
        Path file = dir.resolve("model.onnx");
        Files.write(file, ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build().toByteArray());

        OnnxGraphIndex graph = OnnxGraphIndex.read(file);
        List<Projection> found = CrossAttentionProjections.find(graph);
        assertEquals(1, found.size());
        assertThat(found.get(0).transposed()).isTrue();
        assertEquals(TEXT, found.get(0).in());
        assertEquals(INNER, found.get(0).out());
        ClosedFormEdit.Problem problem = new ClosedFormEdit.Problem(TEXT, CrossAttentionPatchTest.rowsOf(rnd, 2, TEXT),
                CrossAttentionPatchTest.rowsOf(rnd, 2, TEXT), CrossAttentionPatchTest.rowsOf(rnd, 1, TEXT), 0.1);
        WeightPatch patch = CrossAttentionPatch.compute(graph, found, EnumSet.of(Kind.KEY),
                ClosedFormEdit.solve(problem)).get(0);
        double[][] math = new double[INNER][TEXT]; // Gemm transB=1 stores the math's W itself
        for (int o = 0; o < INNER; o++) {
            for (int i = 0; i < TEXT; i++) {
                math[o][i] = values[o * TEXT + i];
            }
        }
        double[][] expected = CrossAttentionPatchTest.closedForm(math, problem);
        for (int o = 0; o < INNER; o++) {
            for (int i = 0; i < TEXT; i++) {
                assertEquals(expected[o][i], patch.values()[o * TEXT + i], 1e-5);
            }
        }
    }

    private static float[] run(OrtSession session) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ByteBuffer text = ByteBuffer.allocateDirect(2 * 5 * TEXT).order(ByteOrder.nativeOrder());
        Random rnd = new Random(4);
        for (int i = 0; i < 5 * TEXT; i++) {
            text.putShort(Fp16Conversions.floatToFp16((float) rnd.nextGaussian()));
        }
        text.rewind();
        try (OnnxTensor ehs = OnnxTensor.createTensor(env, text, new long[] {1, 5, TEXT}, OnnxJavaType.FLOAT16);
             OrtSession.Result r = session.run(Map.of(CrossAttentionProjections.TEXT_INPUT, ehs))) {
            OnnxTensor out = (OnnxTensor) r.get(0);
            ByteBuffer raw = out.getByteBuffer().order(ByteOrder.nativeOrder());
            float[] values = new float[raw.remaining() / 2];
            for (int i = 0; i < values.length; i++) {
                values[i] = Fp16Conversions.fp16ToFloat(raw.getShort());
            }
            return values;
        }
    }

    /** ehs → Reshape → V = ·w_b, K = ·w_a; softmax(Q·Kᵀ)·V. */
    private static ModelProto model(Random rnd) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("fp16_attention");
        g.addInput(value(CrossAttentionProjections.TEXT_INPUT, 1, 5, TEXT));
        g.addOutput(value("out", 1, 3, INNER));
        g.addInitializer(half("w_b", rnd, TEXT, INNER));
        g.addInitializer(half("w_a", rnd, TEXT, INNER));
        g.addInitializer(half("q", rnd, 1, 3, INNER));
        g.addInitializer(TensorProto.newBuilder().setName("shape").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(3).addInt64Data(1).addInt64Data(5).addInt64Data(TEXT));
        g.addNode(node("Reshape", "r", CrossAttentionProjections.TEXT_INPUT, "shape"));
        g.addNode(node("MatMul", "v", "r", "w_b"));
        g.addNode(node("MatMul", "k", "r", "w_a"));
        g.addNode(node("Transpose", "kt", "k").toBuilder().addAttribute(AttributeProto.newBuilder().setName("perm")
                .setType(AttributeProto.AttributeType.INTS).addInts(0).addInts(2).addInts(1)).build());
        g.addNode(node("MatMul", "s", "q", "kt"));
        g.addNode(node("Softmax", "p", "s").toBuilder().addAttribute(AttributeProto.newBuilder().setName("axis")
                .setType(AttributeProto.AttributeType.INT).setI(-1)).build());
        g.addNode(node("MatMul", "out", "p", "v"));
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
    }

    private static NodeProto node(String op, String out, String... in) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName("n_" + out).addOutput(out);
        for (String i : in) {
            n.addInput(i);
        }
        return n.build();
    }

    private static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT16_VALUE).setShape(shape))).build();
    }

    private static TensorProto half(String name, Random rnd, long... dims) {
        long n = 1;
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT16_VALUE);
        for (long d : dims) {
            t.addDims(d);
            n *= d;
        }
        ByteBuffer raw = ByteBuffer.allocate((int) n * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            raw.putShort(Fp16Conversions.floatToFp16((float) (rnd.nextGaussian() / Math.sqrt(TEXT))));
        }
        return t.setRawData(ByteString.copyFrom(raw.array())).build();
    }
}
