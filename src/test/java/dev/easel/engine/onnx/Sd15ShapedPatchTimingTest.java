package dev.easel.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.easel.engine.onnx.CrossAttentionProjections.Kind;
import dev.easel.engine.patch.ClosedFormEdit;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole patch path at SD 1.5's cross-attention shapes (768-wide text; 16 attentions of
 * 320/640/1280 channels, so 32 k/v weights, 77 MB of float32): read the graph, find the
 * projections, edit them, open a session with them. Prints the figures (docs/rewriting.md).
 */
class Sd15ShapedPatchTimingTest {

    private static final int TEXT = 768;
    private static final int[] CHANNELS = {320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640,
        320, 320, 320};

    @Test
    void patchesSd15ShapedProjections(@TempDir Path dir) throws IOException {
        Random rnd = new Random(1);
        Path file = dir.resolve("model.onnx");
        try (OutputStream out = Files.newOutputStream(file)) {
            model(rnd).writeTo(out);
        }
        List<double[]> sources = CrossAttentionPatchTest.rowsOf(rnd, 75, TEXT);
        List<double[]> targets = CrossAttentionPatchTest.rowsOf(rnd, 75, TEXT);
        List<double[]> preserved = CrossAttentionPatchTest.rowsOf(rnd, 75, TEXT);

        long t0 = System.nanoTime();
        OnnxGraphIndex graph = OnnxGraphIndex.read(file);
        List<CrossAttentionProjections.Projection> found = CrossAttentionProjections.find(graph);
        long t1 = System.nanoTime();
        ClosedFormEdit edit = ClosedFormEdit.solve(new ClosedFormEdit.Problem(TEXT, sources, targets, preserved, 0.1));
        long t2 = System.nanoTime();
        List<WeightPatch> patches = CrossAttentionPatch.compute(graph, found, EnumSet.allOf(Kind.class), edit);
        long t3 = System.nanoTime();
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel patched = OnnxModel.openPatched(sessions, file, OnnxSessions.Role.LOOP, patches)) {
            long t4 = System.nanoTime();
            assertEquals(32, found.size());
            assertEquals(32, patches.size());
            System.out.printf(Locale.ROOT, "SD 1.5-shaped projections (32 weights, 77 MB fp32): read+find %.3f s,"
                    + " solve %.3f s, apply %.3f s, open session %.3f s, total %.3f s%n", (t1 - t0) / 1e9,
                    (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9, (t4 - t0) / 1e9);
        }
    }

    /** encoder_hidden_states → 32 MatMuls named like diffusers' to_k/to_v, each a graph output. */
    private static ModelProto model(Random rnd) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("sd15_cross_attention");
        g.addInput(value(CrossAttentionProjections.TEXT_INPUT, 1, 77, TEXT));
        for (int b = 0; b < CHANNELS.length; b++) {
            for (String kv : new String[] {"to_k", "to_v"}) {
                String w = "block" + b + ".attn2." + kv + ".weight";
                g.addInitializer(weight(w, rnd, CHANNELS[b]));
                String out = "block" + b + "." + kv;
                g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("/block" + b + "/attn2/" + kv + "/MatMul")
                        .addInput(CrossAttentionProjections.TEXT_INPUT).addInput(w).addOutput(out));
                g.addOutput(value(out, 1, 77, CHANNELS[b]));
            }
        }
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
    }

    private static TensorProto weight(String name, Random rnd, int out) {
        ByteBuffer raw = ByteBuffer.allocate(4 * TEXT * out).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < TEXT * out; i++) {
            raw.putFloat((float) (rnd.nextGaussian() / Math.sqrt(TEXT)));
        }
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(TEXT)
                .addDims(out).setRawData(ByteString.copyFrom(raw.array())).build();
    }

    private static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
