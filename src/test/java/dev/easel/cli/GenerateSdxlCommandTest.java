package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.cli.CommandLineTest.Run;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngImage;
import dev.easel.engine.tensor.Npy;
import dev.easel.fixtures.MakeBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code generate} on SDXL bundles, run in-process as a user would: random SDXL base and refiner
 * written by make-bundle, sizes from the options or the bundle, the refiner hand-over, SDXL's
 * micro-conditioning and weighted prompts.
 */
class GenerateSdxlCommandTest {

    /** unet sample_size in latents: a job without a size gets 16 × 8 = 128 px (small enough to be quick). */
    private static final int SAMPLE_SIZE = 16;

    @TempDir
    static Path dir;
    static Path base;
    static Path refiner;

    @BeforeAll
    static void writeBundles() {
        base = makeBundle("sdxl", dir.resolve("xl-base"));
        refiner = makeBundle("sdxl-refiner", dir.resolve("xl-refiner"));
    }

    /** The bundle as {@code exec:java@make-bundle -Dexec.args="--kind KIND ..."} writes it. */
    private static Path makeBundle(String kind, Path out) {
        // make-bundle lists the files it wrote on System.out: kept out of the build's output.
        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream listing = new java.io.ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new java.io.PrintStream(listing, true, java.nio.charset.StandardCharsets.UTF_8));
            exit = new CommandLine(new MakeBundle()).execute("--out", out.toString(), "--kind", kind,
                    "--sample-size", Integer.toString(SAMPLE_SIZE));
        } finally {
            System.setOut(stdout);
        }
        assertEquals(0, exit, "make-bundle --kind " + kind + ": " + listing);
        assertThat(listing.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("unet/model.onnx");
        return out;
    }

    private static String[] generate(Path out, String... more) {
        return Stream.concat(Stream.of("generate", "--model", base.toString(), "--prompt", "a red circle",
                "--seed", "5", "--out", out.toString()), Stream.of(more)).toArray(String[]::new);
    }

    private static Run ok(String... args) {
        Run run = CommandLineTest.run(args);
        assertEquals(0, run.exit(), run.err());
        return run;
    }

    private static List<Path> pngs(Path out) throws IOException {
        try (Stream<Path> listing = Files.list(out)) {
            return listing.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
    }

    private static PngImage onlyPng(Path out) throws IOException {
        List<Path> files = pngs(out);
        assertThat(files).hasSize(1);
        return new PngDecoder().decode(Files.readAllBytes(files.get(0)));
    }

    @Test
    void writesPngsAndLatentsAtTheAskedSize() throws IOException {
        Path out = dir.resolve("sized");
        Path latents = dir.resolve("sized.npy");
        Run run = ok(generate(out, "--steps", "2", "--width", "64", "--height", "64", "--latents-out",
                latents.toString()));
        assertThat(run.out()).contains("generated 1 image(s)", "seed 5", "easel-5.png");
        PngImage png = onlyPng(out);
        assertEquals(64, png.width());
        assertEquals(64, png.height());
        assertThat(png.text()).containsEntry("model", "xl-base").containsEntry("size", "64x64")
                .containsEntry("steps", "2").containsEntry("scheduler", "euler");
        assertThat(Npy.read(latents).shape()).containsExactly(1, 4, 8, 8);
    }

    /** No --width/--height: the bundle's unet sample_size × the VAE's 8. */
    @Test
    void theDefaultSizeIsTheBundles() throws IOException {
        Path out = dir.resolve("default");
        Path latents = dir.resolve("default.npy");
        ok(generate(out, "--steps", "1", "--latents-out", latents.toString()));
        PngImage png = onlyPng(out);
        assertEquals(8 * SAMPLE_SIZE, png.width());
        assertEquals(8 * SAMPLE_SIZE, png.height());
        assertThat(Npy.read(latents).shape()).containsExactly(1, 4, SAMPLE_SIZE, SAMPLE_SIZE);
    }

    @Test
    void theRefinerFinishesTheSchedule() throws IOException {
        Path out = dir.resolve("refined");
        Path latents = dir.resolve("refined.npy");
        Path plainLatents = dir.resolve("unrefined.npy");
        String[] size = {"--steps", "4", "--width", "64", "--height", "64"};
        ok(generate(dir.resolve("unrefined"), concat(size, "--latents-out", plainLatents.toString())));
        ok(generate(out, concat(size, "--refiner", refiner.toString(), "--refiner-switch-at", "0.5",
                "--latents-out", latents.toString())));
        assertThat(onlyPng(out).text()).containsEntry("refiner", "xl-refiner from 0.5");
        Npy.NpyArray refined = Npy.read(latents);
        assertThat(refined.shape()).containsExactly(1, 4, 8, 8);
        assertThat(refined.data()).isNotEqualTo(Npy.read(plainLatents).data());
    }

    /** --original-size and --crop-top-left reach the UNet's time_ids: same seed, other latents. */
    @Test
    void microConditioningOptionsReachTheUnet() throws IOException {
        String[] size = {"--steps", "2", "--width", "64", "--height", "64"};
        Path plain = dir.resolve("micro-plain.npy");
        Path conditioned = dir.resolve("micro.npy");
        ok(generate(dir.resolve("micro-plain"), concat(size, "--latents-out", plain.toString())));
        Path out = dir.resolve("micro");
        ok(generate(out, concat(size, "--original-size", "1024x768", "--crop-top-left", "0,0",
                "--latents-out", conditioned.toString())));
        assertThat(onlyPng(out).text()).containsKey("micro_conditioning");
        assertThat(Npy.read(conditioned).data()).isNotEqualTo(Npy.read(plain).data());
    }

    @Test
    void malformedMicroConditioningNamesTheOption() {
        Run run = CommandLineTest.run(generate(dir.resolve("bad"), "--steps", "1", "--original-size", "12"));
        assertEquals(2, run.exit());
        assertThat(run.err().strip()).isEqualTo("error: original-size: must be WIDTHxHEIGHT in pixels, got 12");
        Run crop = CommandLineTest.run(generate(dir.resolve("bad"), "--steps", "1", "--crop-top-left", "7"));
        assertEquals(2, crop.exit());
        assertThat(crop.err().strip()).isEqualTo("error: crop-top-left: must be TOP,LEFT in pixels, got 7");
        Run target = CommandLineTest.run(generate(dir.resolve("bad"), "--steps", "1", "--target-size", "axb"));
        assertEquals(2, target.exit());
        assertThat(target.err()).startsWith("error: target-size: ");
    }

    @Test
    void weightedPromptSyntax() throws IOException {
        Path out = dir.resolve("weighted");
        Path weighted = dir.resolve("weighted.npy");
        Path plain = dir.resolve("weighted-plain.npy");
        String[] common = {"generate", "--model", base.toString(), "--seed", "5", "--steps", "2", "--width", "64",
            "--height", "64", "--prompt-syntax", "weighted"};
        ok(concat(common, "--prompt", "a (red:1.3) circle", "--out", out.toString(), "--latents-out",
                weighted.toString()));
        ok(concat(common, "--prompt", "a red circle", "--out", dir.resolve("weighted-plain").toString(),
                "--latents-out", plain.toString()));
        assertThat(onlyPng(out).text()).containsEntry("prompt_syntax", "weighted")
                .containsEntry("prompt", "a (red:1.3) circle");
        // Same tokens, one weighted: the weight changes the conditioning.
        assertThat(Npy.read(weighted).data()).isNotEqualTo(Npy.read(plain).data());
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
