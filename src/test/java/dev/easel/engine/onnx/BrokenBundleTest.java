package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broken bundle fails at load with one message naming the file, the tensor and what was expected. */
class BrokenBundleTest {

    @TempDir
    Path dir;

    private Path bundle() throws IOException {
        return OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("bundle"));
    }

    private static BundleException loadFails(Path bundle) {
        return assertThrows(BundleException.class, () -> StableDiffusionModel.load(bundle, EngineOptions.cpu()));
    }

    @Test
    void renamedUnetInputIsNamed() throws IOException {
        Path bundle = bundle();
        Path unet = bundle.resolve("unet/model.onnx");
        rewrite(unet, graph -> rename(graph, "sample", "latents"));
        assertThat(loadFails(bundle).getMessage())
                .contains(unet.toString(), "expected input 'sample'", "'latents' float32[-1, 4, -1, -1]");
    }

    @Test
    void floatTokenIdsAreRefused() throws IOException {
        Path bundle = bundle();
        Path text = bundle.resolve("text_encoder/model.onnx");
        rewrite(text, graph -> {
            // input_ids becomes float32, cast back to int32 inside: a valid graph with the wrong contract.
            GraphProto renamed = rename(graph, "input_ids", "ids_int");
            ValueInfoProto old = renamed.getInput(0);
            ValueInfoProto floatIds = old.toBuilder().setName("input_ids")
                    .setType(old.getType().toBuilder().setTensorType(old.getType().getTensorType().toBuilder()
                            .setElemType(TensorProto.DataType.FLOAT.getNumber()))).build();
            NodeProto cast = NodeProto.newBuilder().setOpType("Cast").addInput("input_ids").addOutput("ids_int")
                    .addAttribute(ai.onnx.proto.OnnxMl.AttributeProto.newBuilder().setName("to")
                            .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.INT)
                            .setI(TensorProto.DataType.INT32.getNumber()))
                    .build();
            return renamed.toBuilder().setInput(0, floatIds).clearNode().addNode(cast)
                    .addAllNode(renamed.getNodeList()).build();
        });
        assertThat(loadFails(bundle).getMessage())
                .contains(text.toString(), "'input_ids'", "element type float32", "expected int32 or int64");
    }

    @Test
    void textHiddenSizeMismatchNamesBothModels() throws IOException {
        Path bundle = bundle();
        Path other = OracleBundle.create(OracleBundle.Spec.defaults().withHiddenSize(48)).writeTo(dir.resolve("other"));
        Files.copy(other.resolve("unet/model.onnx"), bundle.resolve("unet/model.onnx"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.delete(bundle.resolve("unet/config.json"));
        Files.delete(bundle.resolve("text_encoder/config.json"));
        assertThat(loadFails(bundle).getMessage()).contains(bundle.resolve("unet/model.onnx").toString(),
                "'encoder_hidden_states'", "hidden size 48", "text_encoder", "produces 32");
    }

    @Test
    void missingModelFileIsNamed() throws IOException {
        Path bundle = bundle();
        Files.delete(bundle.resolve("vae_decoder/model.onnx"));
        assertThat(loadFails(bundle).getMessage()).contains("missing model file(s) vae_decoder/model.onnx");
    }

    @Test
    void corruptModelFileIsNamed() throws IOException {
        Path bundle = bundle();
        Path unet = bundle.resolve("unet/model.onnx");
        Files.write(unet, new byte[] {1, 2, 3, 4, 5});
        assertThat(loadFails(bundle).getMessage()).contains(unet.toString(), "ONNX Runtime could not load the model");
    }

    private static void rewrite(Path model, UnaryOperator<GraphProto> change) throws IOException {
        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(model));
        Files.write(model, proto.toBuilder().setGraph(change.apply(proto.getGraph())).build().toByteArray());
    }

    /** Renames a graph input and every node input that reads it. */
    private static GraphProto rename(GraphProto graph, String from, String to) {
        GraphProto.Builder b = graph.toBuilder();
        for (int i = 0; i < b.getInputCount(); i++) {
            if (b.getInput(i).getName().equals(from)) {
                b.setInput(i, b.getInput(i).toBuilder().setName(to));
            }
        }
        for (int n = 0; n < b.getNodeCount(); n++) {
            NodeProto.Builder node = b.getNode(n).toBuilder();
            for (int i = 0; i < node.getInputCount(); i++) {
                if (node.getInput(i).equals(from)) {
                    node.setInput(i, to);
                }
            }
            b.setNode(n, node);
        }
        return b.build();
    }
}
