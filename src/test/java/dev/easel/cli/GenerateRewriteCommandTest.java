package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.tensor.Npy;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate --rewrite/--erase/--preserve/--rewrite-lambda} on a random SD-shaped bundle. */
class GenerateRewriteCommandTest {

    @TempDir
    static Path dir;
    static Path bundle;

    @BeforeAll
    static void writeBundle() throws IOException {
        bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
    }

    private static CommandLineTest.Run generate(String name, String... extra) {
        String[] common = {"generate", "--model", bundle.toString(), "--prompt", "a red circle", "--steps", "3",
            "--seed", "4", "--width", "64", "--height", "64", "--out", dir.resolve(name).toString(),
            "--latents-out", dir.resolve(name + ".npy").toString()};
        String[] args = new String[common.length + extra.length];
        System.arraycopy(common, 0, args, 0, common.length);
        System.arraycopy(extra, 0, args, common.length, extra.length);
        return CommandLineTest.run(args);
    }

    @Test
    void anIdentityRewriteReproducesThePlainRunAndAnEditDoesNot() throws IOException {
        assertEquals(0, generate("plain").exit());
        CommandLineTest.Run same = generate("same", "--rewrite", "red circle=red circle", "--preserve", "sky",
                "--rewrite-lambda", "0.5");
        assertEquals(0, same.exit(), same.err());
        assertThat(same.out()).contains("rewrote the UNet's cross-attention in");
        CommandLineTest.Run erased = generate("erased", "--erase", "red circle", "--rewrite", "circle=square");
        assertEquals(0, erased.exit(), erased.err());
        float[] plain = Npy.read(dir.resolve("plain.npy")).data();
        assertThat(Npy.read(dir.resolve("same.npy")).data()).containsExactly(plain);
        assertThat(Npy.read(dir.resolve("erased.npy")).data()).isNotEqualTo(plain);
    }

    @Test
    void badRewriteOptionsAreOneClearLine() {
        CommandLineTest.Run empty = generate("bad", "--erase", "  ");
        assertEquals(2, empty.exit());
        assertThat(empty.err().strip()).startsWith("error: erase: concept '  ' has no tokens");
        CommandLineTest.Run noPair = generate("bad", "--rewrite", "roses");
        assertEquals(2, noPair.exit());
        assertThat(noPair.err().strip()).isEqualTo("error: rewrite: must be SOURCE=TARGET, got 'roses'");
        CommandLineTest.Run alone = generate("bad", "--preserve", "sky");
        assertEquals(2, alone.exit());
        assertThat(alone.err()).contains("preserve", "only applies with --rewrite or --erase");
        CommandLineTest.Run lambda = generate("bad", "--rewrite", "a=b", "--rewrite-lambda", "-1");
        assertEquals(2, lambda.exit());
        assertThat(lambda.err()).contains("rewrite-lambda", "≥ 1.0E-6");
        CommandLineTest.Run kinds = generate("bad", "--rewrite", "a=b", "--rewrite-projections", "key,query");
        assertEquals(2, kinds.exit());
        assertThat(kinds.err().strip()).isEqualTo("error: rewrite-projections: must name key or value, got 'query'");
        CommandLineTest.Run kindsAlone = generate("bad", "--rewrite-projections", "value");
        assertEquals(2, kindsAlone.exit());
        assertThat(kindsAlone.err()).contains("rewrite-projections", "only applies with --rewrite or --erase");
        CommandLineTest.Run heldAlone = generate("bad", "--preserve-unconditional", "1");
        assertEquals(2, heldAlone.exit());
        assertThat(heldAlone.err()).contains("preserve-unconditional", "only applies with --rewrite or --erase");
        CommandLineTest.Run heldNegative = generate("bad", "--rewrite", "a=b", "--preserve-unconditional", "-1");
        assertEquals(2, heldNegative.exit());
        assertThat(heldNegative.err()).contains("preserve-unconditional", "≥ 0");
    }

    @Test
    void valueOnlyAndKeyOnlyEditsDifferFromEachOtherAndFromBoth() throws IOException {
        assertEquals(0, generate("both", "--rewrite", "circle=square").exit());
        CommandLineTest.Run value = generate("value", "--rewrite", "circle=square", "--rewrite-projections", "value");
        assertEquals(0, value.exit(), value.err());
        CommandLineTest.Run key = generate("key", "--rewrite", "circle=square", "--rewrite-projections", "key");
        assertEquals(0, key.exit(), key.err());
        CommandLineTest.Run both = generate("both2", "--rewrite", "circle=square", "--rewrite-projections", "value,key");
        assertEquals(0, both.exit(), both.err());
        float[] all = Npy.read(dir.resolve("both.npy")).data();
        assertThat(Npy.read(dir.resolve("both2.npy")).data()).containsExactly(all);
        assertThat(Npy.read(dir.resolve("value.npy")).data()).isNotEqualTo(all);
        assertThat(Npy.read(dir.resolve("key.npy")).data()).isNotEqualTo(all)
                .isNotEqualTo(Npy.read(dir.resolve("value.npy")).data());
    }
}
