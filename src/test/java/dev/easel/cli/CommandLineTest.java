package dev.easel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.image.PngDecoder;
import dev.easel.engine.image.PngImage;
import dev.easel.engine.tensor.Npy;
import dev.easel.fixtures.OracleBundle;
import dev.easel.testing.SharedData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code generate} and {@code tokenize} commands, run in-process as a user would run them. */
class CommandLineTest {

    @TempDir
    static Path dir;
    static Path bundle;

    @BeforeAll
    static void writeBundle() throws IOException {
        bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
    }

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        CommandLine cli = EaselMain.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void tokenizeReproducesTheGoldens() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(SharedData.clipTokenizer().resolve("golden-public.json").toFile());
        for (JsonNode c : golden.get("cases")) {
            Run run = run("tokenize", "--tokenizer", SharedData.clipTokenizer().toString(),
                    "--prompt", c.get("prompt").asText());
            assertEquals(0, run.exit(), run.err());
            assertEquals(c.get("input_ids").toString(), run.out().strip(), c.get("prompt").asText());
        }
    }

    @Test
    void tokenizeAcceptsABundleDirectory() {
        Run run = run("tokenize", "--tokenizer", SharedData.sd15Bundle().toString(), "--prompt", "a red circle");
        assertEquals("[49406,320,736,7117,49407]", run.out().strip());
    }

    @Test
    void generateWritesPngsWithTheirParametersAndTheLatents() throws IOException {
        Path out = dir.resolve("out");
        Path latents = dir.resolve("latents.npy");
        Run run = run("generate", "--model", bundle.toString(), "--prompt", "a red circle", "--negative-prompt", "blue",
                "--steps", "6", "--scheduler", "euler", "--seed", "11", "--width", "64", "--height", "48",
                "--num-images", "2", "--latents-out", latents.toString(), "--out", out.toString());
        assertEquals(0, run.exit(), run.err());
        assertThat(run.out()).contains("generated 2 image(s)", "seed 11", "easel-11.png", "easel-12.png");
        List<Path> files;
        try (Stream<Path> listing = Files.list(out)) {
            files = listing.sorted().toList();
        }
        assertThat(files).extracting(p -> p.getFileName().toString()).containsExactly("easel-11.png", "easel-12.png");
        PngImage png = new PngDecoder().decode(Files.readAllBytes(files.get(1)));
        assertEquals(64, png.width());
        assertEquals(48, png.height());
        assertThat(png.text()).containsEntry("prompt", "a red circle").containsEntry("negative_prompt", "blue")
                .containsEntry("steps", "6").containsEntry("scheduler", "euler").containsEntry("seed", "12")
                .containsEntry("guidance_scale", "7.5").containsEntry("size", "64x48").containsEntry("model", "oracle");
        Npy.NpyArray array = Npy.read(latents);
        assertThat(array.shape()).containsExactly(2, 4, 6, 8);
    }

    @Test
    void latentsInReproducesTheSeededRun() throws IOException {
        Path seededLatents = dir.resolve("seeded.npy");
        Path noise = dir.resolve("noise.npy");
        float[] start = new float[4 * 6 * 8];
        new dev.easel.engine.noise.PhiloxNoise(5).fill(start);
        Npy.write(noise, new long[] {1, 4, 6, 8}, start);
        Path replayed = dir.resolve("replayed.npy");
        String[] common = {"generate", "--model", bundle.toString(), "--prompt", "a red circle", "--steps", "5",
            "--scheduler", "ddim", "--width", "64", "--height", "48", "--out", dir.resolve("replay").toString()};
        assertEquals(0, run(concat(common, "--seed", "5", "--latents-out", seededLatents.toString())).exit());
        assertEquals(0, run(concat(common, "--seed", "5", "--latents-in", noise.toString(), "--latents-out",
                replayed.toString())).exit());
        assertThat(Npy.read(replayed).data()).containsExactly(Npy.read(seededLatents).data());
    }

    @Test
    void badInputIsOneClearLineAndExitCode2() {
        Run run = run("generate", "--model", bundle.toString(), "--prompt", "x", "--width", "100", "--out",
                dir.resolve("bad").toString());
        assertEquals(2, run.exit());
        assertThat(run.err().strip()).isEqualTo(
                "error: width: must be a multiple of 8 (the model's VAE scale factor), got 100");

        Run scheduler = run("generate", "--model", bundle.toString(), "--prompt", "x", "--scheduler", "heun",
                "--out", dir.resolve("bad").toString());
        assertEquals(2, scheduler.exit());
        assertThat(scheduler.err()).contains("scheduler", "heun", "pndm, ddim, euler, euler_a, dpmpp_2m");
    }

    /** A file the user named that is not there is one line naming it, not a stack trace. */
    @Test
    void aMissingInputFileIsOneClearLineAndExitCode2() {
        Run run = run("generate", "--model", bundle.toString(), "--prompt", "x", "--latents-in",
                dir.resolve("nope.npy").toString(), "--out", dir.resolve("bad").toString());
        assertEquals(2, run.exit());
        assertThat(run.err().strip()).isEqualTo("error: no such file: " + dir.resolve("nope.npy"));
    }

    @Test
    void brokenBundleIsExitCode3() {
        Run run = run("generate", "--model", SharedData.sd15Bundle().toString(), "--prompt", "x", "--out",
                dir.resolve("none").toString());
        assertEquals(3, run.exit());
        assertThat(run.err()).startsWith("error: broken model bundle: ").contains("unet/model.onnx");
    }

    @Test
    void generateWithClipOptionsReportsScores() throws IOException {
        Path clip = dev.easel.fixtures.ClipFixture.create(dev.easel.fixtures.ClipFixture.Spec.defaults())
                .writeTo(dir.resolve("toy-clip"));
        Path out = dir.resolve("clip-out");
        Run run = run("generate", "--model", bundle.toString(), "--clip", clip.toString(), "--prompt", "a red circle",
                "--steps", "4", "--scheduler", "ddim", "--seed", "3", "--width", "64", "--height", "64",
                "--rerank", "3", "--verifier-branches", "2", "--verifier-every", "2", "--out", out.toString());
        assertEquals(0, run.exit(), run.err());
        assertThat(run.out()).contains("generated 1 image(s)").containsPattern("seed \\d+: CLIP score \\d+\\.\\d\\d");
        try (Stream<Path> listing = Files.list(out)) {
            PngImage png = new PngDecoder().decode(Files.readAllBytes(listing.findFirst().orElseThrow()));
            assertThat(png.text()).containsKey("clip_score").containsEntry("rerank_candidates", "3")
                    .containsEntry("verifier", "2 branches every 2 steps");
        }
        Run noClip = run("generate", "--model", bundle.toString(), "--prompt", "x", "--clip-score", "--width", "64",
                "--height", "64", "--steps", "2", "--out", out.toString());
        assertEquals(2, noClip.exit());
        assertThat(noClip.err()).contains("clip: model 'oracle' has no CLIP model");
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
