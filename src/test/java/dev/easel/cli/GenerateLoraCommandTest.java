package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.tensor.Npy;
import dev.easel.fixtures.LoraFixture;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.SafetensorsFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate --lora NAME_OR_PATH[:SCALE] --lora-dir} on a random SD-shaped bundle. */
class GenerateLoraCommandTest {

    @TempDir
    static Path dir;
    static Path bundle;
    static Path adapters;

    @BeforeAll
    static void write() throws IOException {
        bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        adapters = dir.resolve("loras");
        LoraFixture.writeKohya(adapters.resolve("style.safetensors"), LoraFixture.random(LoraFixture.Part.UNET,
                bundle.resolve("unet/model.onnx"), List.of("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
                        "down_blocks.0.resnets.0.conv1"), 4, new Random(2), Optional.empty()), "F32");
        Map<String, SafetensorsFiles.Entry> wide = SafetensorsFiles.ordered();
        String key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k";
        wide.put(key + ".lora_down.weight", new SafetensorsFiles.Entry("F32", new long[] {2, 48}, new float[96]));
        wide.put(key + ".lora_up.weight", new SafetensorsFiles.Entry("F32", new long[] {64, 2}, new float[128]));
        SafetensorsFiles.write(adapters.resolve("wide.safetensors"), wide);
    }

    private static CommandLineTest.Run generate(String name, String... extra) {
        String[] common = {"generate", "--model", bundle.toString(), "--prompt", "a red circle", "--steps", "3",
            "--seed", "4", "--width", "64", "--height", "64", "--out", dir.resolve(name).toString(),
            "--latents-out", dir.resolve(name + ".npy").toString(), "--lora-dir", adapters.toString()};
        String[] args = new String[common.length + extra.length];
        System.arraycopy(common, 0, args, 0, common.length);
        System.arraycopy(extra, 0, args, common.length, extra.length);
        return CommandLineTest.run(args);
    }

    @Test
    void scaleZeroReproducesThePlainRunAndAnAdapterDoesNot() throws IOException {
        assertEquals(0, generate("plain").exit());
        CommandLineTest.Run zero = generate("zero", "--lora", "style:0");
        assertEquals(0, zero.exit(), zero.err());
        assertThat(zero.out()).contains("merged 1 LoRA adapter(s) in");
        CommandLineTest.Run styled = generate("styled", "--lora", adapters.resolve("style.safetensors") + ":0.8");
        assertEquals(0, styled.exit(), styled.err());
        float[] plain = Npy.read(dir.resolve("plain.npy")).data();
        assertThat(Npy.read(dir.resolve("zero.npy")).data()).containsExactly(plain);
        assertThat(Npy.read(dir.resolve("styled.npy")).data()).isNotEqualTo(plain);
    }

    @Test
    void badLoraOptionsAreOneClearLine() {
        CommandLineTest.Run missing = generate("bad", "--lora", "nope");
        assertEquals(2, missing.exit());
        assertThat(missing.err().strip()).startsWith("error: lora: no adapter file ").contains("nope.safetensors");
        CommandLineTest.Run wide = generate("bad", "--lora", "wide:0.5");
        assertEquals(2, wide.exit());
        assertThat(wide.err().strip()).startsWith("error: lora: 'wide:0.5': adapter 'wide': wide.safetensors:")
                .contains("lora_down.weight [2, 48]");
        CommandLineTest.Run huge = generate("bad", "--lora", "style:1e30");
        assertEquals(2, huge.exit());
        assertThat(huge.err().strip()).isEqualTo("error: lora: the scale must be between -4 and 4, got 'style:1e30'");
        CommandLineTest.Run both = generate("bad", "--lora", "style", "--erase", "red");
        assertEquals(2, both.exit());
        assertThat(both.err()).contains("lora: cannot be combined with --rewrite/--erase");
    }
}
