package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.easel.engine.bundle.BundleException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Float32Upcast} on small float16 graphs built with the {@code OnnxMl} protos: the result
 * holds no float16, runs in ONNX Runtime with float32 IO, matches a double reference and no longer
 * overflows where float16 math does.
 */
class Float32UpcastTest {

    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;
    private static final int BOOL = TensorProto.DataType.BOOL_VALUE;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private final OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());

    // ---- the float16 graph: initializers (raw_data and int32_data), Constant, ConstantOfShape, Cast ----

    private static final float[] W = {0.5f, -1.25f, 2f, 3f, -0.75f, 1.5f};
    private static final float[] B = {0.25f, -2f, 4f};
    private static final float SHIFT = 0.125f;
    private static final float SCALE = 1.5f;

    /** y = Cast16(Cast32(((x * W + B) + ConstantOfShape(0.125)) * Constant(1.5))), all float16. */
    private static GraphProto.Builder halfGraph(TensorProto bias) {
        GraphProto.Builder graph = halfGraphWithoutBias();
        return graph.addInitializer(bias);
    }

    private static GraphProto.Builder halfGraphWithoutBias() {
        return GraphProto.newBuilder().setName("half")
                .addInput(valueInfo("x", FLOAT16, 2, 3))
                .addInitializer(halfRaw("w", W, 2, 3))
                .addInitializer(TensorProto.newBuilder().setName("shape").setDataType(TensorProto.DataType.INT64_VALUE)
                        .addDims(1).addInt64Data(3))
                .addNode(node("Constant", new String[0], "c", tensorAttr("value", halfRaw("", new float[] {SCALE}))))
                .addNode(node("ConstantOfShape", new String[] {"shape"}, "z",
                        tensorAttr("value", halfInt32("", new float[] {SHIFT}, 1))))
                .addNode(node("Mul", new String[] {"x", "w"}, "m"))
                .addNode(node("Add", new String[] {"m", "b"}, "a"))
                .addNode(node("Add", new String[] {"a", "z"}, "az"))
                .addNode(node("Mul", new String[] {"az", "c"}, "s"))
                .addNode(node("Cast", new String[] {"s"}, "s32", intAttr("to", FLOAT)))
                .addNode(node("Cast", new String[] {"s32"}, "y", intAttr("to", FLOAT16)))
                .addValueInfo(valueInfo("s", FLOAT16, 2, 3))
                .addOutput(valueInfo("y", FLOAT16, 2, 3));
    }

    @Test
    void float16GraphRunsInFloat32AndMatchesTheReference() throws OrtException {
        byte[] upcast = Float32Upcast.upcast(model(halfGraph(halfInt32("b", B, 3))).toByteArray());

        assertNoFloat16(upcast);
        float[] x = {1f, 2f, -3f, 0.5f, 10f, -4f};
        try (OrtSession session = sessions.open(upcast, "half")) {
            assertEquals(OnnxJavaType.FLOAT, ((TensorInfo) session.getInputInfo().get("x").getInfo()).type);
            assertEquals(OnnxJavaType.FLOAT, ((TensorInfo) session.getOutputInfo().get("y").getInfo()).type);
            float[] y = runFloats(session, "x", x, 2, 3);
            for (int i = 0; i < x.length; i++) {
                double expected = ((double) x[i] * W[i] + B[i % 3] + SHIFT) * SCALE;
                assertEquals(expected, y[i], 1e-6, "element " + i);
            }
        }
    }

    @Test
    void unpackedInt32DataIsReadToo() throws IOException, OrtException {
        // protobuf-java always packs int32_data; other writers may not, so write it by hand.
        ByteArrayOutputStream tensor = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(tensor);
        out.writeInt64(1, 3);
        out.writeInt32(2, FLOAT16);
        for (float v : B) {
            out.writeInt32(5, Fp16Conversions.floatToFp16(v) & 0xFFFF);
        }
        out.writeString(8, "b");
        out.flush();
        byte[] graph = append(halfGraphWithoutBias().build().toByteArray(), 5, tensor.toByteArray());
        byte[] model = append(model(GraphProto.newBuilder()).toBuilder().clearGraph().build().toByteArray(), 7, graph);

        byte[] upcast = Float32Upcast.upcast(model);

        assertNoFloat16(upcast);
        try (OrtSession session = sessions.open(upcast, "unpacked")) {
            float[] y = runFloats(session, "x", new float[6], 2, 3);
            for (int i = 0; i < 6; i++) {
                assertEquals((B[i % 3] + SHIFT) * SCALE, y[i], 1e-6);
            }
        }
    }

    @Test
    void float16OverflowIsGoneAfterUpcasting() throws OrtException {
        // (x * 1000) / 1000 with x = 100: the intermediate 100000 is past float16's 65504. ONNX
        // Runtime's CPU provider runs float16 nodes that lack float16 kernels in float32 (it inserts
        // casts), so on CPU only a float16 tensor that is materialised, here the graph output
        // "big", shows the overflow; on CUDA the math itself overflows and y comes out inf too.
        GraphProto.Builder graph = GraphProto.newBuilder().setName("overflow")
                .addInput(valueInfo("x", FLOAT16, 1))
                .addInitializer(halfRaw("k", new float[] {1000f}))
                .addNode(node("Mul", new String[] {"x", "k"}, "big"))
                .addNode(node("Div", new String[] {"big", "k"}, "y"))
                .addOutput(valueInfo("big", FLOAT16, 1))
                .addOutput(valueInfo("y", FLOAT16, 1));
        byte[] half = model(graph).toByteArray();

        try (OrtSession session = sessions.open(half, "fp16");
             OnnxTensor x = OnnxTensor.createTensor(ENV, ShortBuffer.wrap(new short[] {Fp16Conversions.floatToFp16(100f)}),
                     new long[] {1}, OnnxJavaType.FLOAT16);
             OrtSession.Result result = session.run(Map.of("x", x))) {
            float big = Fp16Conversions.fp16ToFloat(((OnnxTensor) result.get("big").orElseThrow()).getShortBuffer().get(0));
            assertTrue(Float.isInfinite(big) || Float.isNaN(big), "float16 gave " + big);
        }
        try (OrtSession session = sessions.open(Float32Upcast.upcast(half), "fp32");
             OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(new float[] {100f}), new long[] {1});
             OrtSession.Result result = session.run(Map.of("x", x))) {
            assertEquals(100_000f, ((OnnxTensor) result.get("big").orElseThrow()).getFloatBuffer().get(0));
            assertEquals(100f, ((OnnxTensor) result.get("y").orElseThrow()).getFloatBuffer().get(0));
        }
    }

    @Test
    void subgraphsOfIfAreUpcast() throws OrtException {
        GraphProto.Builder graph = GraphProto.newBuilder().setName("if")
                .addInput(valueInfo("cond", BOOL))
                .addInput(valueInfo("x", FLOAT16, 1))
                .addNode(node("If", new String[] {"cond"}, "branch",
                        graphAttr("then_branch", constantBranch("then", "t", 3f)),
                        graphAttr("else_branch", constantBranch("else", "e", -0.5f))))
                .addNode(node("Add", new String[] {"branch", "x"}, "y"))
                .addOutput(valueInfo("y", FLOAT16, 1));

        byte[] upcast = Float32Upcast.upcast(model(graph).toByteArray());

        assertNoFloat16(upcast);
        try (OrtSession session = sessions.open(upcast, "if")) {
            assertArrayEquals(new float[] {4f}, runIf(session, true));
            assertArrayEquals(new float[] {0.5f}, runIf(session, false));
        }
    }

    /** A branch whose output is a float16 Constant cast to float16 again. */
    private static GraphProto constantBranch(String name, String out, float value) {
        return GraphProto.newBuilder().setName(name)
                .addNode(node("Constant", new String[0], out + "0", tensorAttr("value", halfRaw("", new float[] {value}, 1))))
                .addNode(node("Cast", new String[] {out + "0"}, out, intAttr("to", FLOAT16)))
                .addOutput(valueInfo(out, FLOAT16, 1))
                .build();
    }

    private static float[] runIf(OrtSession session, boolean cond) throws OrtException {
        try (OnnxTensor c = OnnxTensor.createTensor(ENV, cond);
             OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(new float[] {1f}), new long[] {1});
             OrtSession.Result result = session.run(Map.of("cond", c, "x", x))) {
            return ((OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
    }

    @Test
    void everyFloat16BitPatternWidensExactly() throws IOException {
        ByteBuffer raw = ByteBuffer.allocate(2 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < 1 << 16; h++) {
            raw.putShort((short) h);
        }
        GraphProto.Builder graph = GraphProto.newBuilder().setName("all")
                .addInitializer(TensorProto.newBuilder().setName("all").setDataType(FLOAT16).addDims(1 << 16)
                        .setRawData(ByteString.copyFrom(raw.array())))
                .addOutput(valueInfo("all", FLOAT16, 1 << 16));

        TensorProto all = ModelProto.parseFrom(Float32Upcast.upcast(model(graph).toByteArray())).getGraph().getInitializer(0);

        assertEquals(FLOAT, all.getDataType());
        FloatBuffer floats = all.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        assertEquals(1 << 16, floats.remaining());
        for (int h = 0; h < 1 << 16; h++) {
            float expected = halfToFloat(h);
            float actual = floats.get(h);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(actual), "bits " + Integer.toHexString(h));
            } else {
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual), "bits " + Integer.toHexString(h));
            }
        }
        assertEquals(65504f, halfToFloat(0x7BFF));
        assertEquals(0x1p-24f, halfToFloat(0x0001));
    }

    /** IEEE 754 binary16 by its definition, independent of the code under test. */
    private static float halfToFloat(int bits) {
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        double sign = (bits & 0x8000) != 0 ? -1 : 1;
        if (exponent == 0x1F) {
            return mantissa == 0 ? (float) (sign * Double.POSITIVE_INFINITY) : Float.NaN;
        }
        if (exponent == 0) {
            return (float) (sign * mantissa * Math.pow(2, -24));
        }
        return (float) (sign * (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15));
    }

    @Test
    void float32ModelPassesThroughByteIdentical() {
        GraphProto.Builder graph = GraphProto.newBuilder().setName("fp32")
                .addInput(valueInfo("x", FLOAT, 2, 3))
                .addInitializer(TensorProto.newBuilder().setName("w").setDataType(FLOAT).addDims(3)
                        .addFloatData(1f).addFloatData(2f).addFloatData(3f))
                .addInitializer(TensorProto.newBuilder().setName("v").setDataType(FLOAT).addDims(1)
                        .setRawData(ByteString.copyFrom(floatBytes(0.5f))))
                .addNode(node("Constant", new String[0], "c", tensorAttr("value", TensorProto.newBuilder()
                        .setDataType(FLOAT).addFloatData(2f).build())))
                .addNode(node("Mul", new String[] {"x", "w"}, "m"))
                .addNode(node("Cast", new String[] {"m"}, "y", intAttr("to", FLOAT)))
                .addNode(node("If", new String[] {"cond"}, "unused",
                        graphAttr("then_branch", GraphProto.newBuilder().setName("t").build())))
                .addOutput(valueInfo("y", FLOAT, 2, 3));
        byte[] model = model(graph).toBuilder().setDocString("kept").build().toByteArray();

        assertArrayEquals(model, Float32Upcast.upcast(model));
    }

    @Test
    void externalDataIsRejectedWithAClearMessage(@TempDir Path dir) throws IOException {
        TensorProto external = TensorProto.newBuilder().setName("w").setDataType(FLOAT16).addDims(2).addDims(3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue("12"))
                .build();
        GraphProto.Builder graph = GraphProto.newBuilder().setName("external")
                .addInput(valueInfo("x", FLOAT16, 2, 3))
                .addInitializer(external)
                .addNode(node("Mul", new String[] {"x", "w"}, "y"))
                .addOutput(valueInfo("y", FLOAT16, 2, 3));
        Path file = dir.resolve("model.onnx");
        Files.write(file, model(graph).toByteArray());
        Files.write(dir.resolve("weights.bin"), new byte[12]);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Float32Upcast.upcast(file));
        assertThat(e.getMessage()).contains("tensor 'w'", "external file", "inline");
        BundleException b = assertThrows(BundleException.class, () -> OnnxModel.openUpcast(sessions, file));
        assertThat(b.getMessage()).startsWith(file.toString()).contains("float32", "inline");
    }

    @Test
    void malformedBytesFailWithAClearException() {
        byte[] valid = model(halfGraph(halfInt32("b", B, 3))).toByteArray();
        assertThat(assertThrows(IllegalArgumentException.class, () -> Float32Upcast.upcast(new byte[0])).getMessage())
                .contains("no graph");
        assertThat(assertThrows(IllegalArgumentException.class,
                () -> Float32Upcast.upcast("hello, world".getBytes(StandardCharsets.UTF_8))).getMessage())
                .contains("malformed ONNX model");
        for (int cut : new int[] {1, 7, valid.length / 3, valid.length / 2, valid.length - 1}) {
            byte[] truncated = java.util.Arrays.copyOf(valid, cut);
            assertThrows(IllegalArgumentException.class, () -> Float32Upcast.upcast(truncated), "cut at " + cut);
        }
        Random random = new Random(42);
        for (int i = 0; i < 500; i++) {
            byte[] noise = new byte[1 + random.nextInt(200)];
            random.nextBytes(noise);
            try {
                Float32Upcast.upcast(noise);
            } catch (IllegalArgumentException expected) {
                // Either a clear error or (rarely) bytes that happen to parse; never anything else.
            }
        }
        assertThrows(NullPointerException.class, () -> Float32Upcast.upcast((byte[]) null));
    }

    @Test
    void hostileNestingIsRefusedNotAStackOverflow() {
        GraphProto inner = GraphProto.newBuilder().setName("leaf").build();
        for (int i = 0; i < 60; i++) {
            inner = GraphProto.newBuilder().setName("g" + i)
                    .addNode(node("If", new String[] {"c"}, "o", graphAttr("then_branch", inner))).build();
        }
        byte[] deep = model(inner.toBuilder()).toByteArray();
        assertThat(assertThrows(IllegalArgumentException.class, () -> Float32Upcast.upcast(deep)).getMessage())
                .contains("nested deeper");
    }

    @Test
    void onnxModelOpensTheUpcastFileAndKeepsItsName(@TempDir Path dir) throws IOException, OrtException {
        Path file = dir.resolve("model.onnx");
        Files.write(file, model(halfGraph(halfInt32("b", B, 3))).toByteArray());

        try (OnnxModel model = OnnxModel.openUpcast(sessions, file)) {
            assertEquals(file, model.file());
            assertEquals(OnnxJavaType.FLOAT, model.inputs().get("x").type());
            assertEquals(OnnxJavaType.FLOAT, model.outputs().get("y").type());
            float[] y = runFloats(model.session(), "x", new float[6], 2, 3);
            assertEquals((B[0] + SHIFT) * SCALE, y[0], 1e-6);
        }

        Path garbage = dir.resolve("garbage.onnx");
        Files.write(garbage, "not a model".getBytes(StandardCharsets.UTF_8));
        BundleException e = assertThrows(BundleException.class, () -> OnnxModel.openUpcast(sessions, garbage));
        assertThat(e.getMessage()).startsWith(garbage.toString()).contains("malformed");
        assertThat(assertThrows(BundleException.class,
                () -> OnnxModel.openUpcast(sessions, dir.resolve("missing.onnx"))).getMessage()).contains("missing");
    }

    // ---- checks ----

    /** Parses the upcast bytes with protobuf-java and fails on any float16 left anywhere. */
    private static void assertNoFloat16(byte[] upcast) {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(upcast);
        } catch (IOException e) {
            throw new AssertionError("upcast bytes do not parse as a ModelProto", e);
        }
        assertNoFloat16(model.getGraph());
    }

    private static void assertNoFloat16(GraphProto graph) {
        for (TensorProto t : graph.getInitializerList()) {
            assertNoFloat16(t);
        }
        for (ValueInfoProto v : concat(graph)) {
            assertThat(v.getType().getTensorType().getElemType()).as(v.getName()).isNotEqualTo(FLOAT16);
        }
        for (NodeProto n : graph.getNodeList()) {
            for (AttributeProto a : n.getAttributeList()) {
                if (a.getName().equals("to")) {
                    assertEquals(FLOAT, a.getI(), n.getName());
                }
                if (a.hasT()) {
                    assertNoFloat16(a.getT());
                }
                if (a.hasG()) {
                    assertNoFloat16(a.getG());
                }
            }
        }
    }

    private static void assertNoFloat16(TensorProto t) {
        assertThat(t.getDataType()).as(t.getName()).isNotEqualTo(FLOAT16);
        if (t.getDataType() == FLOAT) {
            long n = 1;
            for (long d : t.getDimsList()) {
                n *= d;
            }
            assertEquals(0, t.getInt32DataCount(), t.getName());
            assertEquals(n, t.getRawData().size() / 4 + t.getFloatDataCount(), t.getName());
        }
    }

    private static Iterable<ValueInfoProto> concat(GraphProto graph) {
        java.util.List<ValueInfoProto> all = new java.util.ArrayList<>(graph.getInputList());
        all.addAll(graph.getOutputList());
        all.addAll(graph.getValueInfoList());
        return all;
    }

    private static float[] runFloats(OrtSession session, String input, float[] data, long... shape)
            throws OrtException {
        try (OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(data), shape);
             OrtSession.Result result = session.run(Map.of(input, x))) {
            return ((OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
    }

    // ---- building ----

    private static ModelProto model(GraphProto.Builder graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("float32-upcast-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
    }

    private static ValueInfoProto valueInfo(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    /** A float16 tensor in raw_data (2 bytes little-endian per value). */
    private static TensorProto halfRaw(String name, float[] values, long... dims) {
        ByteBuffer raw = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putShort(Fp16Conversions.floatToFp16(v));
        }
        return TensorProto.newBuilder().setName(name).setDataType(FLOAT16).addAllDims(boxed(dims))
                .setRawData(ByteString.copyFrom(raw.array())).build();
    }

    /** A float16 tensor in int32_data (each value's 16 bits, as onnx.proto specifies). */
    private static TensorProto halfInt32(String name, float[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT16).addAllDims(boxed(dims));
        for (float v : values) {
            t.addInt32Data(Fp16Conversions.floatToFp16(v) & 0xFFFF);
        }
        return t.build();
    }

    private static java.util.List<Long> boxed(long... dims) {
        java.util.List<Long> list = new java.util.ArrayList<>();
        for (long d : dims) {
            list.add(d);
        }
        return list;
    }

    private static NodeProto node(String op, String[] inputs, String output, AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(op + "_" + output).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        return n.build();
    }

    private static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static AttributeProto tensorAttr(String name, TensorProto value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR).setT(value).build();
    }

    private static AttributeProto graphAttr(String name, GraphProto value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(value).build();
    }

    private static byte[] floatBytes(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    /** Appends a length-delimited field to serialized message bytes (repeated fields concatenate). */
    private static byte[] append(byte[] message, int field, byte[] value) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write(message);
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            out.writeByteArray(field, value);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
