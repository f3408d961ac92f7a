package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.easel.engine.lora.LoraAdapter;
import dev.easel.engine.lora.Safetensors;
import dev.easel.fixtures.LoraFixture;
import dev.easel.fixtures.LoraFixture.Factor;
import dev.easel.fixtures.LoraFixture.Part;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.SafetensorsFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA merging on a random SD-shaped UNet: the patched weights and the UNet's output equal a model
 * file whose weights were merged offline (written out plainly in float64), for linear, 1×1 and
 * k×k (LoCon) modules, several adapters and both ways of finding a weight (its name, its node's name).
 */
class LoraPatchTest {

    private static final int TEXT = 32;
    /** RandomSdBundle.Spec.defaults(): linear (MatMul [in, out]), 1×1 conv, 3×3 conv, time embedding. */
    static final List<String> MODULES = List.of(
            "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
            "mid_block.attentions.0.transformer_blocks.0.attn1.to_q",
            "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj",
            "down_blocks.1.attentions.0.proj_in",
            "down_blocks.0.resnets.0.conv1",
            "time_embedding.linear_1");

    @TempDir
    static Path dir;
    static Path unet;

    @BeforeAll
    static void write() throws IOException {
        unet = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("sd")).resolve("unet/model.onnx");
    }

    private static LoraAdapter adapter(Path file) throws IOException {
        return LoraAdapter.of(Safetensors.read(file));
    }

    private static Path merged(String name, List<Factor> a, double sa, List<Factor> b, double sb) throws IOException {
        Path copy = Files.copy(unet, dir.resolve(name + ".onnx"));
        LoraFixture.mergeInto(copy, Part.UNET, a, sa);
        if (b != null) {
            LoraFixture.mergeInto(copy, Part.UNET, b, sb);
        }
        return copy;
    }

    @Test
    void mergedWeightsAndTheUnetEqualAnOfflineMerge() throws IOException, OrtException {
        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES, 4, new Random(1), Optional.of(2f));
        Path file = LoraFixture.writeKohya(dir.resolve("one.safetensors"), factors, "F32");
        OnnxGraphIndex graph = OnnxGraphIndex.read(unet);
        LoraPatch patch = new LoraPatch(graph, LoraAdapter.Component.UNET);
        patch.add(adapter(file), 0.8);
        List<WeightPatch> patches = patch.patches();
        assertEquals(MODULES.stream().map(m -> m + ".weight").collect(Collectors.toSet()),
                patches.stream().map(WeightPatch::initializer).collect(Collectors.toSet()));

        Path reference = merged("one", factors, 0.8, null, 0);
        Map<String, TensorProto> expected = LoraFixture.initializers(reference);
        Map<String, TensorProto> original = LoraFixture.initializers(unet);
        for (WeightPatch p : patches) {
            assertArrayEquals(floats(expected.get(p.initializer())), p.values(), 1e-6f, p.initializer());
            assertThat(maxDifference(floats(original.get(p.initializer())), p.values())).isGreaterThan(1e-3);
        }
        // Every other initializer of the reference is the original's, byte for byte.
        Set<String> patched = patches.stream().map(WeightPatch::initializer).collect(Collectors.toSet());
        original.forEach((name, t) -> {
            if (!patched.contains(name)) {
                assertEquals(t, expected.get(name), name);
            }
        });
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel withLora = OnnxModel.openPatched(sessions, unet, OnnxSessions.Role.LOOP, patches);
             OnnxModel offline = OnnxModel.open(sessions, reference)) {
            assertArrayEquals(runUnet(offline.session()), runUnet(withLora.session()), 1e-5f);
        }
    }

    @Test
    void twoAdaptersWithScalesAddTheirDeltas() throws IOException, OrtException {
        List<Factor> a = LoraFixture.random(Part.UNET, unet, MODULES, 4, new Random(2), Optional.empty());
        List<Factor> b = LoraFixture.random(Part.UNET, unet, MODULES.subList(0, 3), 2, new Random(3), Optional.of(1f));
        OnnxGraphIndex graph = OnnxGraphIndex.read(unet);
        LoraPatch patch = new LoraPatch(graph, LoraAdapter.Component.UNET);
        patch.add(adapter(LoraFixture.writePeft(dir.resolve("a.safetensors"), a, false, false)), 0.5);
        patch.add(adapter(LoraFixture.writeKohya(dir.resolve("b.safetensors"), b, "F32")), -1.5);
        Path reference = merged("two", a, 0.5, b, -1.5);
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel withLora = OnnxModel.openPatched(sessions, unet, OnnxSessions.Role.LOOP, patch.patches());
             OnnxModel offline = OnnxModel.open(sessions, reference)) {
            assertArrayEquals(runUnet(offline.session()), runUnet(withLora.session()), 1e-5f);
        }
    }

    @Test
    void weightsRenamedByTheExporterAreFoundByTheirNodesNames() throws IOException {
        // As torch's exporter: a MatMul's weight becomes onnx::MatMul_N, the node is named after the module.
        ModelProto.Builder proto = ModelProto.parseFrom(Files.readAllBytes(unet)).toBuilder();
        Map<String, String> renamed = new HashMap<>();
        for (int i = 0; i < proto.getGraph().getInitializerCount(); i++) {
            TensorProto t = proto.getGraph().getInitializer(i);
            if (t.getName().endsWith(".weight") && t.getDimsCount() == 2) {
                String name = "onnx::MatMul_" + i;
                renamed.put(t.getName(), name);
                proto.getGraphBuilder().setInitializer(i, t.toBuilder().setName(name));
            }
        }
        for (int i = 0; i < proto.getGraph().getNodeCount(); i++) {
            NodeProto n = proto.getGraph().getNode(i);
            if (n.getOpType().equals("MatMul") && renamed.containsKey(n.getInput(1))) {
                String module = n.getInput(1).substring(0, n.getInput(1).length() - ".weight".length());
                proto.getGraphBuilder().setNode(i, n.toBuilder().setInput(1, renamed.get(n.getInput(1)))
                        .setName("/" + module.replace('.', '/') + "/MatMul"));
            }
        }
        Path exported = dir.resolve("exported.onnx");
        Files.write(exported, proto.build().toByteArray());

        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES, 3, new Random(4), Optional.of(6f));
        LoraAdapter lora = adapter(LoraFixture.writePeft(dir.resolve("renamed.safetensors"), factors, true, true));
        LoraPatch byName = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        byName.add(lora, 1.0);
        LoraPatch byNode = new LoraPatch(OnnxGraphIndex.read(exported), LoraAdapter.Component.UNET);
        byNode.add(lora, 1.0);
        Map<String, float[]> expected = new HashMap<>();
        byName.patches().forEach(p -> expected.put(renamed.getOrDefault(p.initializer(), p.initializer()), p.values()));
        List<WeightPatch> found = byNode.patches();
        assertEquals(expected.keySet(), found.stream().map(WeightPatch::initializer).collect(Collectors.toSet()));
        assertThat(expected.keySet()).contains(renamed.get(MODULES.get(0) + ".weight"));
        for (WeightPatch p : found) {
            assertArrayEquals(expected.get(p.initializer()), p.values(), p.initializer());
        }
    }

    @Test
    void float16WeightsAreMergedInFloat32AndStayFloat16() throws IOException {
        String name = MODULES.get(0) + ".weight";
        ModelProto.Builder proto = ModelProto.parseFrom(Files.readAllBytes(unet)).toBuilder();
        float[] original = null;
        for (int i = 0; i < proto.getGraph().getInitializerCount(); i++) {
            TensorProto t = proto.getGraph().getInitializer(i);
            if (t.getName().equals(name)) {
                original = floats(t);
                ByteBuffer half = ByteBuffer.allocate(2 * original.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : original) {
                    half.putShort(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(v));
                }
                proto.getGraphBuilder().setInitializer(i, t.toBuilder().setDataType(OnnxGraphIndex.FLOAT16)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(half.array())));
            }
        }
        Path halfFile = dir.resolve("half.onnx");
        Files.write(halfFile, proto.build().toByteArray()); // read only: the graph would not type-check
        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES.subList(0, 1), 4, new Random(8), Optional.empty());
        LoraAdapter lora = adapter(LoraFixture.writeKohya(dir.resolve("half.safetensors"), factors, "F16"));
        LoraPatch full = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        full.add(lora, 1);
        LoraPatch half = new LoraPatch(OnnxGraphIndex.read(halfFile), LoraAdapter.Component.UNET);
        half.add(lora, 1);
        WeightPatch f = full.patches().get(0);
        WeightPatch h = half.patches().get(0);
        assertEquals(OnnxGraphIndex.FLOAT16, h.dataType());
        for (int i = 0; i < original.length; i++) {
            float widened = ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat(
                    ai.onnxruntime.platform.Fp16Conversions.floatToFp16(original[i]));
            assertEquals(widened + (f.values()[i] - original[i]), h.values()[i], 1e-6, "element " + i);
        }
    }

    @Test
    void aFloat16WeightBehindACastIsPatchedInTheRunningSession() throws IOException, OrtException {
        // Mixed-precision exports keep a float16 weight and Cast it to float32 before the MatMul.
        String name = MODULES.get(0) + ".weight";
        ModelProto.Builder proto = ModelProto.parseFrom(Files.readAllBytes(unet)).toBuilder();
        for (int i = 0; i < proto.getGraph().getInitializerCount(); i++) {
            TensorProto t = proto.getGraph().getInitializer(i);
            if (t.getName().equals(name)) {
                float[] w = floats(t);
                ByteBuffer half = ByteBuffer.allocate(2 * w.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : w) {
                    half.putShort(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(v));
                }
                proto.getGraphBuilder().setInitializer(i, t.toBuilder().setDataType(OnnxGraphIndex.FLOAT16)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(half.array())));
            }
        }
        for (int i = 0; i < proto.getGraph().getNodeCount(); i++) {
            NodeProto n = proto.getGraph().getNode(i);
            if (n.getOpType().equals("MatMul") && n.getInput(1).equals(name)) {
                proto.getGraphBuilder().setNode(i, n.toBuilder().setInput(1, name + "_f32"));
            }
        }
        proto.getGraphBuilder().addNode(0, NodeProto.newBuilder().setOpType("Cast").setName("/cast_weight")
                .addInput(name).addOutput(name + "_f32").addAttribute(ai.onnx.proto.OnnxMl.AttributeProto.newBuilder()
                        .setName("to").setI(OnnxGraphIndex.FLOAT)
                        .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.INT)));
        Path casted = dir.resolve("casted.onnx");
        Files.write(casted, proto.build().toByteArray());

        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES.subList(0, 1), 4, new Random(13),
                Optional.empty());
        LoraPatch patch = new LoraPatch(OnnxGraphIndex.read(casted), LoraAdapter.Component.UNET);
        patch.add(adapter(LoraFixture.writeKohya(dir.resolve("casted.safetensors"), factors, "F32")), 1);
        List<WeightPatch> patches = patch.patches();
        assertEquals(OnnxGraphIndex.FLOAT16, patches.get(0).dataType());
        // Reference: the same float16 values written into the file.
        ModelProto.Builder merged = ModelProto.parseFrom(Files.readAllBytes(casted)).toBuilder();
        for (int i = 0; i < merged.getGraph().getInitializerCount(); i++) {
            TensorProto t = merged.getGraph().getInitializer(i);
            if (t.getName().equals(name)) {
                ByteBuffer half = ByteBuffer.allocate(2 * patches.get(0).values().length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : patches.get(0).values()) {
                    half.putShort(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(v));
                }
                merged.getGraphBuilder().setInitializer(i, t.toBuilder()
                        .setRawData(com.google.protobuf.ByteString.copyFrom(half.array())));
            }
        }
        Path reference = dir.resolve("casted-merged.onnx");
        Files.write(reference, merged.build().toByteArray());
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel withLora = OnnxModel.openPatched(sessions, casted, OnnxSessions.Role.LOOP, patches);
             OnnxModel offline = OnnxModel.open(sessions, reference);
             OnnxModel base = OnnxModel.open(sessions, casted)) {
            float[] expected = runUnet(offline.session());
            assertThat(maxDifference(runUnet(base.session()), expected)).isGreaterThan(1e-3);
            assertArrayEquals(expected, runUnet(withLora.session()), 1e-5f);
        }
    }

    @Test
    void externalDataWeightsAreMergedToo(@TempDir Path other) throws IOException, OrtException {
        Path external = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(dev.easel.fixtures.BundleVariants
                .DEFAULT.withExternalWeights(dev.easel.fixtures.BundleVariants.ExternalWeights.MODEL_ONNX_DATA)))
                .writeTo(other).resolve("unet/model.onnx");
        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES, 2, new Random(6), Optional.of(3f));
        LoraAdapter lora = adapter(LoraFixture.writeKohya(dir.resolve("ext.safetensors"), factors, "BF16"));
        LoraPatch inline = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        inline.add(lora, 0.6);
        LoraPatch outside = new LoraPatch(OnnxGraphIndex.read(external), LoraAdapter.Component.UNET);
        outside.add(lora, 0.6);
        List<WeightPatch> a = inline.patches();
        List<WeightPatch> b = outside.patches();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).initializer(), b.get(i).initializer());
            assertArrayEquals(a.get(i).values(), b.get(i).values(), a.get(i).initializer());
        }
        OnnxSessions sessions = new OnnxSessions(EngineOptions.cpu());
        try (OnnxModel x = OnnxModel.openPatched(sessions, unet, OnnxSessions.Role.LOOP, a);
             OnnxModel y = OnnxModel.openPatched(sessions, external, OnnxSessions.Role.LOOP, b)) {
            assertArrayEquals(runUnet(x.session()), runUnet(y.session()), 1e-6f);
        }
    }

    @Test
    void aGemmWithTransBTakesTheDeltaInTorchsOrder() throws IOException {
        // time_embedding.linear_1 as torch exports a Linear on 2-D input: Gemm, transB = 1, weight [out, in].
        String name = "time_embedding.linear_1.weight";
        ModelProto.Builder proto = ModelProto.parseFrom(Files.readAllBytes(unet)).toBuilder();
        int in = 0;
        int out = 0;
        for (int i = 0; i < proto.getGraph().getInitializerCount(); i++) {
            TensorProto t = proto.getGraph().getInitializer(i);
            if (t.getName().equals(name)) {
                in = (int) t.getDims(0);
                out = (int) t.getDims(1);
                float[] w = floats(t);
                ByteBuffer transposed = ByteBuffer.allocate(4 * w.length).order(ByteOrder.LITTLE_ENDIAN);
                for (int o = 0; o < out; o++) {
                    for (int j = 0; j < in; j++) {
                        transposed.putFloat(w[j * out + o]);
                    }
                }
                proto.getGraphBuilder().setInitializer(i, t.toBuilder().setDims(0, out).setDims(1, in)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(transposed.array())));
            }
        }
        for (int i = 0; i < proto.getGraph().getNodeCount(); i++) {
            NodeProto n = proto.getGraph().getNode(i);
            if (n.getOpType().equals("MatMul") && n.getInput(1).equals(name)) {
                proto.getGraphBuilder().setNode(i, n.toBuilder().setOpType("Gemm").addAttribute(
                        ai.onnx.proto.OnnxMl.AttributeProto.newBuilder().setName("transB").setI(1)
                                .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.INT)));
            }
        }
        Path gemmFile = dir.resolve("gemm.onnx");
        Files.write(gemmFile, proto.build().toByteArray());
        List<Factor> factors = LoraFixture.random(Part.UNET, unet, List.of("time_embedding.linear_1"), 3, new Random(12),
                Optional.empty());
        LoraAdapter lora = adapter(LoraFixture.writePeft(dir.resolve("gemm.safetensors"), factors, false, false));
        LoraPatch matmul = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        matmul.add(lora, 1);
        LoraPatch gemm = new LoraPatch(OnnxGraphIndex.read(gemmFile), LoraAdapter.Component.UNET);
        gemm.add(lora, 1);
        float[] a = matmul.patches().get(0).values(); // [in, out]
        WeightPatch b = gemm.patches().get(0); // [out, in]
        assertArrayEquals(new long[] {out, in}, b.dims());
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < in; j++) {
                assertEquals(a[j * out + o], b.values()[o * in + j], "[" + o + ", " + j + "]");
            }
        }
    }

    @Test
    void scaleZeroChecksTheAdapterAndPatchesNothing() throws IOException {
        List<Factor> factors = LoraFixture.random(Part.UNET, unet, MODULES, 4, new Random(5), Optional.empty());
        LoraPatch patch = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        patch.add(adapter(LoraFixture.writeKohya(dir.resolve("zero.safetensors"), factors, "F16")), 0);
        assertThat(patch.patches()).isEmpty();
    }

    @Test
    void factorsThatDoNotFitTheWeightAreRefusedNamingFileAndTensor() throws IOException {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        String key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k";
        t.put(key + ".lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 48}, new float[96]));
        t.put(key + ".lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {64, 2}, new float[128]));
        Path file = SafetensorsFiles.write(dir.resolve("wide.safetensors"), t);
        LoraPatch patch = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        assertThatThrownBy(() -> patch.add(adapter(file), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("wide.safetensors")
                .hasMessageContaining(key + ".lora_down.weight [2, 48]")
                .hasMessageContaining("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight")
                .hasMessageContaining("[64, 32]");
    }

    @Test
    void aModuleThatMatchesNothingIsAnError() throws IOException {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        t.put("lora_unet_input_blocks_4_1_proj_in.lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {1, 2}, new float[2]));
        t.put("lora_unet_input_blocks_4_1_proj_in.lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 1}, new float[2]));
        Path file = SafetensorsFiles.write(dir.resolve("sgm.safetensors"), t);
        LoraPatch patch = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        assertThatThrownBy(() -> patch.add(adapter(file), 1))
                .hasMessageContaining("sgm.safetensors")
                .hasMessageContaining("1 LoRA module matches no MatMul/Gemm/Conv weight of the UNet")
                .hasMessageContaining("lora_unet_input_blocks_4_1_proj_in");
    }

    @Test
    void aKxKUpFactorIsRefused() throws IOException {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        String key = "lora_unet_down_blocks_0_resnets_0_conv1";
        t.put(key + ".lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 32, 3, 3}, new float[576]));
        t.put(key + ".lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {32, 2, 3, 3}, new float[576]));
        Path file = SafetensorsFiles.write(dir.resolve("kxk.safetensors"), t);
        LoraPatch patch = new LoraPatch(OnnxGraphIndex.read(unet), LoraAdapter.Component.UNET);
        assertThatThrownBy(() -> patch.add(adapter(file), 1))
                .hasMessageContaining("kxk.safetensors")
                .hasMessageContaining("tensor '" + key + ".lora_up.weight' [32, 2, 3, 3] is a 3×3 up factor");
    }

    private static float[] floats(TensorProto t) {
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[raw.remaining() / 4];
        raw.asFloatBuffer().get(values);
        return values;
    }

    static float[] runUnet(OrtSession session) throws OrtException {
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
        try (OnnxTensor s = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {2, 4, 16, 16});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {500, 500}), new long[] {2});
             OnnxTensor e = OnnxTensor.createTensor(env, FloatBuffer.wrap(text), new long[] {2, 77, TEXT});
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
