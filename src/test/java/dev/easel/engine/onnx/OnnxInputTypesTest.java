package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link OnnxInputTypes} against ONNX Runtime's own reading of the same files. */
class OnnxInputTypesTest {

    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    enum Variant {
        FLOAT32(BundleVariants.DEFAULT),
        FLOAT16_IO(BundleVariants.DEFAULT.withFloat16Io()),
        INT64_IDS(BundleVariants.DEFAULT.withInt64Ids()),
        EXTERNAL_MODEL_ONNX_DATA(BundleVariants.DEFAULT.withExternalWeights(BundleVariants.ExternalWeights.MODEL_ONNX_DATA)),
        EXTERNAL_WEIGHTS_PB(BundleVariants.DEFAULT.withExternalWeights(BundleVariants.ExternalWeights.WEIGHTS_PB));

        final BundleVariants variants;

        Variant(BundleVariants variants) {
            this.variants = variants;
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void everyGraphOfARandomBundleHasTheInputsOnnxRuntimeSees(Variant variant, @TempDir Path dir) throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(variant.variants))
                .writeTo(dir.resolve("bundle"));
        List<Path> graphs;
        try (Stream<Path> walk = Files.walk(bundle)) {
            graphs = walk.filter(p -> p.toString().endsWith(".onnx")).sorted().toList();
        }
        assertThat(graphs).hasSizeGreaterThanOrEqualTo(4);
        for (Path graph : graphs) {
            assertThat(OnnxInputTypes.read(graph)).as("%s", graph).hasValue(sessionInputs(graph));
        }
        boolean float16 = variant == Variant.FLOAT16_IO;
        assertThat(OnnxModel.float16Inputs(bundle.resolve("vae_decoder/model.onnx"))).hasValue(float16);
    }

    @Test
    void weightsListedAsInputsAreNotInputs(@TempDir Path dir) throws Exception {
        // Older exporters list every initializer among the graph's inputs too; ONNX Runtime does not
        // count them, and neither may we (a float16 weight would read as a float16 input).
        TensorProto weight = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .addDims(2).setRawData(ByteString.copyFrom(new byte[] {0, 60, 0, 60})).build();
        GraphProto graph = GraphProto.newBuilder().setName("g")
                .addNode(NodeProto.newBuilder().setOpType("Cast").addInput("w").addOutput("wf")
                        .addAttribute(ai.onnx.proto.OnnxMl.AttributeProto.newBuilder().setName("to")
                                .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.INT).setI(1)))
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("wf").addOutput("y"))
                .addInitializer(weight)
                .addInput(value("x", TensorProto.DataType.FLOAT_VALUE))
                .addInput(value("w", TensorProto.DataType.FLOAT16_VALUE))
                .addOutput(value("y", TensorProto.DataType.FLOAT_VALUE)).build();
        Path file = dir.resolve("model.onnx");
        Files.write(file, ModelProto.newBuilder().setIrVersion(3).setGraph(graph)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(11)).build().toByteArray());
        assertThat(OnnxInputTypes.read(file)).hasValue(Map.of("x", TensorProto.DataType.FLOAT_VALUE));
        assertThat(OnnxInputTypes.read(file)).hasValue(sessionInputs(file));
        assertThat(OnnxModel.float16Inputs(file)).hasValue(false);
    }

    @Test
    void whatIsNoModelIsEmptySoTheCallerOpensASession(@TempDir Path dir) throws Exception {
        Path garbage = Files.write(dir.resolve("garbage.onnx"), new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 7, 1, 2});
        assertThat(OnnxInputTypes.read(garbage)).isEmpty();
        assertThat(OnnxInputTypes.read(dir.resolve("missing.onnx"))).isEmpty();
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("bundle"));
        byte[] whole = Files.readAllBytes(bundle.resolve("vae_decoder/model.onnx"));
        Path cut = Files.write(dir.resolve("cut.onnx"), Arrays.copyOf(whole, whole.length / 2));
        assertThat(OnnxInputTypes.read(cut)).isEmpty();
        assertThat(OnnxModel.float16Inputs(cut)).isEmpty();
    }

    private static ValueInfoProto value(String name, int elemType) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2))))).build();
    }

    private static Map<String, Integer> sessionInputs(Path file) throws OrtException, IOException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = ENV.createSession(file.toString(), options)) {
            Map<String, Integer> types = new LinkedHashMap<>();
            for (Map.Entry<String, NodeInfo> input : session.getInputInfo().entrySet()) {
                // ONNX Runtime's own enum numbers differently: by name to onnx.proto's DataType.
                String name = ((TensorInfo) input.getValue().getInfo()).onnxType.name()
                        .replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "");
                types.put(input.getKey(), TensorProto.DataType.valueOf(name).getNumber());
            }
            return types;
        }
    }
}
