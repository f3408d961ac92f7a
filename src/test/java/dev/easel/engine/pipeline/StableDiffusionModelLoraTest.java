package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.LoraFixture;
import dev.easel.fixtures.LoraFixture.Factor;
import dev.easel.fixtures.LoraFixture.Part;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.SafetensorsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link StableDiffusionModel#withLoras} end to end on a random SD-shaped bundle. */
class StableDiffusionModelLoraTest {

    static final List<String> UNET_MODULES = List.of(
            "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
            "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj",
            "down_blocks.1.attentions.0.proj_in",
            "down_blocks.0.resnets.0.conv1");
    /** The fixture names CLIP's projections as diffusers' attention does (to_q), not q_proj. */
    static final List<String> TEXT_MODULES = List.of("encoder.layers.0.self_attn.to_q", "encoder.layers.1.mlp.fc1");

    @TempDir
    static Path dir;
    static Path bundle;
    static StableDiffusionModel model;
    static List<Factor> factors;
    static Path kohya;
    static Path peft;

    @BeforeAll
    static void load() throws IOException {
        bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load(bundle, EngineOptions.cpu());
        Random rnd = new Random(9);
        // alpha = rank, which is what PEFT files (alpha in adapter_config.json, not the file) mean.
        factors = new ArrayList<>(LoraFixture.random(Part.UNET, bundle.resolve("unet/model.onnx"), UNET_MODULES, 4,
                rnd, Optional.of(4f)));
        factors.addAll(LoraFixture.random(Part.TEXT, bundle.resolve("text_encoder/model.onnx"), TEXT_MODULES, 4, rnd,
                Optional.of(4f)));
        kohya = LoraFixture.writeKohya(dir.resolve("loras/style.safetensors"), factors, "F32");
        peft = LoraFixture.writePeft(dir.resolve("loras/style-peft.safetensors"), factors, false, false);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationResult generate(StableDiffusionModel m) {
        GenerationRequest request = GenerationRequest.builder("a red circle").size(64, 64).steps(3).seed(21).build();
        return new DiffusionPipeline(m, GenerationLimits.defaults()).generate(request, ProgressListener.NONE,
                Cancellation.NONE);
    }

    @Test
    void anAdapterEqualsTheModelMergedOffline() throws IOException {
        Path merged = copy(bundle, dir.resolve("merged"));
        LoraFixture.mergeInto(merged.resolve("unet/model.onnx"), Part.UNET, factors, 0.7);
        LoraFixture.mergeInto(merged.resolve("text_encoder/model.onnx"), Part.TEXT, factors, 0.7);
        float[] expected;
        // At the level the adapted UNet runs at (its conv weights are patched: OnnxSessions caps it at
        // extended), so both run the same conv kernels and differ only by the weights' rounding.
        EngineOptions cpu = EngineOptions.cpu();
        EngineOptions extended = new EngineOptions(cpu.provider(), cpu.deviceId(), cpu.fallbackToCpu(),
                cpu.intraOpThreads(), cpu.interOpThreads(), OptLevel.EXTENDED_OPT);
        try (StableDiffusionModel offline = StableDiffusionModel.load(merged, extended)) {
            expected = generate(offline).finalLatents();
        }
        try (StableDiffusionModel adapted = model.withLoras(List.of(new Lora("style", kohya, 0.7)))) {
            float[] actual = generate(adapted).finalLatents();
            assertArrayEquals(expected, actual, 1e-5f);
            assertThat(maxDifference(generate(model).finalLatents(), actual)).isGreaterThan(1e-2);
        }
    }

    @Test
    void kohyaAndPeftNamingsOfOneAdapterGiveTheSameImage() {
        try (StableDiffusionModel a = model.withLoras(List.of(new Lora("style", kohya, 0.7)));
             StableDiffusionModel b = model.withLoras(List.of(new Lora("style-peft", peft, 0.7)))) {
            GenerationResult x = generate(a);
            GenerationResult y = generate(b);
            assertArrayEquals(x.finalLatents(), y.finalLatents());
            assertArrayEquals(x.images().get(0).image().rgb(), y.images().get(0).image().rgb());
        }
    }

    @Test
    void scaleZeroIsNoAdapter() {
        byte[] before = generate(model).images().get(0).image().rgb();
        try (StableDiffusionModel none = model.withLoras(List.of(new Lora("style", kohya, 0)))) {
            assertArrayEquals(before, generate(none).images().get(0).image().rgb());
        }
    }

    @Test
    void aTextEncoderAdapterChangesTheTextEncoderAndSharesTheUnet() throws IOException {
        List<Factor> text = factors.stream().filter(f -> f.part() == Part.TEXT).toList();
        Path file = LoraFixture.writeKohya(dir.resolve("loras/text.safetensors"), text, "BF16");
        int[] ids = new int[77];
        ids[0] = 1;
        try (StableDiffusionModel adapted = model.withLoras(List.of(new Lora("text", file, 1.0)))) {
            assertSame(model.unet(), adapted.unet());
            float[] before = model.textEncoder().encode(ids, 1, 77);
            float[] after = adapted.textEncoder().encode(ids, 1, 77);
            assertThat(maxDifference(before, after)).isGreaterThan(1e-3);
        }
        // The base model's own encoder is untouched.
        assertArrayEquals(model.textEncoder().encode(ids, 1, 77), model.textEncoder().encode(ids, 1, 77));
    }

    @Test
    void badAdaptersAreRequestErrorsNamingTheirIndexFileAndTensor() throws IOException {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        String key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k";
        t.put(key + ".lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 48}, new float[96]));
        t.put(key + ".lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {64, 2}, new float[128]));
        Path wide = SafetensorsFiles.write(dir.resolve("loras/wide.safetensors"), t);
        List<Lora> styleAndWide = List.of(new Lora("style", kohya, 1), new Lora("wide", wide, 1));
        assertThatThrownBy(() -> model.withLoras(styleAndWide))
                .isInstanceOfSatisfying(InvalidRequestException.class,
                        e -> assertThat(e.field()).isEqualTo("loras[1].name"))
                .hasMessageContaining("wide.safetensors").hasMessageContaining(key + ".lora_down.weight");
        assertSameRefusal(styleAndWide);

        Path corrupt = Files.write(dir.resolve("loras/corrupt.safetensors"), new byte[] {(byte) 0xFF, 1, 2, 3, 4, 5, 6, 7, 8});
        assertThatThrownBy(() -> model.withLoras(List.of(new Lora("corrupt", corrupt, 1))))
                .isInstanceOfSatisfying(InvalidRequestException.class,
                        e -> assertThat(e.field()).isEqualTo("loras[0].name"))
                .hasMessageContaining("corrupt.safetensors").hasMessageContaining("header length");
        assertSameRefusal(List.of(new Lora("corrupt", corrupt, 1)));

        Map<String, SafetensorsFiles.Entry> stray = SafetensorsFiles.ordered();
        stray.put("lora_unet_no_such_block_to_k.lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {1, 32},
                new float[32]));
        stray.put("lora_unet_no_such_block_to_k.lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {32, 1},
                new float[32]));
        Path unmatched = SafetensorsFiles.write(dir.resolve("loras/stray.safetensors"), stray);
        assertSameRefusal(List.of(new Lora("stray", unmatched, 1)));

        Map<String, SafetensorsFiles.Entry> xl = SafetensorsFiles.ordered();
        xl.put("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                new SafetensorsFiles.Entry("F32", new long[] {1, 32}, new float[32]));
        xl.put("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight",
                new SafetensorsFiles.Entry("F32", new long[] {128, 1}, new float[128]));
        Path sdxl = SafetensorsFiles.write(dir.resolve("loras/xl.safetensors"), xl);
        assertThatThrownBy(() -> model.withLoras(List.of(new Lora("xl", sdxl, 1))))
                .isInstanceOfSatisfying(InvalidRequestException.class,
                        e -> assertThat(e.field()).isEqualTo("loras[0].name"))
                .hasMessageContaining("second text encoder");
        assertSameRefusal(List.of(new Lora("xl", sdxl, 1)));
    }

    /** checkLoras, from the headers alone, passes what withLoras builds: both namings, UNet and text encoder. */
    @Test
    void checkingAdaptersThatFitPassesWithoutOpeningAnything() {
        model.checkLoras(List.of(new Lora("style", kohya, 1), new Lora("peft", peft, 0.5)));
        model.checkLoras(List.of(new Lora("style", kohya, 0)));
    }

    /** checkLoras refuses what withLoras refuses, naming the same field with the same words. */
    private void assertSameRefusal(List<Lora> loras) {
        InvalidRequestException built = org.junit.jupiter.api.Assertions.assertThrows(InvalidRequestException.class,
                () -> model.withLoras(loras).close());
        InvalidRequestException checked = org.junit.jupiter.api.Assertions.assertThrows(InvalidRequestException.class,
                () -> model.checkLoras(loras));
        assertThat(checked.field()).isEqualTo(built.field());
        assertThat(checked.getMessage()).isEqualTo(built.getMessage());
    }

    @Test
    void patchesDoNotStackOnAPatchedModel() {
        try (StableDiffusionModel adapted = model.withLoras(List.of(new Lora("style", kohya, 1)))) {
            assertThatThrownBy(() -> adapted.withLoras(List.of(new Lora("style", kohya, 1))))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("already has patched weights");
            assertThatThrownBy(() -> adapted.rewritten(Rewrite.none().erase("red")))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
