package dev.easel.bench;

import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationMetadata;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.engine.pipeline.StageTimings;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.RandomSdxlBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Where one image's time goes: tokenizer, text encoder, UNet, scheduler, VAE, PNG encoding and
 * the glue between them, averaged over measured runs after warm-up.
 *
 * <pre>./mvnw -q test-compile exec:java@bench -Dexec.args="--runs 5"</pre>
 * Without {@code --model} it writes a random bundle to a temporary directory first: by
 * {@code --kind}, the default SD-shaped one ({@link RandomSdBundle.Spec#defaults()}), the default
 * SDXL-shaped base ({@link RandomSdxlBundle.Spec#defaults()}: the same UNet widths, attention
 * levels and VAE, plus SDXL's two text encoders, add_embedding and wider cross-attention context),
 * or both, measured side by side: their runs alternate, so a change in the machine's load falls on
 * both.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Per-stage timing of the pipeline.")
public final class PipelineBenchmark implements Callable<Integer> {

    @Option(names = "--model", description = "Bundle directory (default: a fresh random bundle of --kind).")
    Path model;

    /** The random bundle(s) written when no --model is given. */
    enum Kind { sd, sdxl, both }

    @Option(names = "--kind", defaultValue = "sd", description = "Without --model: sd, sdxl, or both side by side"
            + " (default ${DEFAULT-VALUE}).")
    Kind kind;

    @Option(names = "--size", defaultValue = "512", description = "Image width and height (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--steps", defaultValue = "20", description = "Denoising steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "Guidance scale (default ${DEFAULT-VALUE}).")
    float guidance;

    @Option(names = "--scheduler", defaultValue = "pndm", description = "Scheduler (default ${DEFAULT-VALUE}).")
    String scheduler;

    @Option(names = "--warmup", defaultValue = "1", description = "Unmeasured runs (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--runs", defaultValue = "3", description = "Measured runs (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads, 0 = all cores (default ${DEFAULT-VALUE}).")
    int threads;

    public static void main(String[] args) {
        System.exit(new CommandLine(new PipelineBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        List<Path> bundles = new ArrayList<>();
        if (model != null) {
            bundles.add(model);
        } else {
            Path root = Files.createTempDirectory("easel-bench");
            if (kind != Kind.sdxl) {
                bundles.add(RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(root.resolve("random-sd")));
            }
            if (kind != Kind.sd) {
                bundles.add(RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(root.resolve("random-sdxl")));
            }
        }
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(threads);
        List<Measured> measured = new ArrayList<>();
        try {
            for (Path bundle : bundles) {
                StableDiffusionModel loaded = StableDiffusionModel.load(bundle, options);
                measured.add(new Measured(loaded, new DiffusionPipeline(loaded, GenerationLimits.defaults()), new Totals()));
            }
            PngEncoder png = new PngEncoder();
            // Runs alternate between the bundles, so both see the same machine.
            for (int run = 0; run < warmup + runs; run++) {
                for (Measured m : measured) {
                    GenerationRequest request = GenerationRequest.builder("a big red circle on a blue background")
                            .size(size, size).steps(steps).guidanceScale(guidance).scheduler(scheduler).seed(run).build();
                    int[] stepsRun = {0};
                    long start = System.nanoTime();
                    GenerationResult result = m.pipeline().generate(request, (s, t) -> stepsRun[0]++, () -> { });
                    long pngStart = System.nanoTime();
                    for (GeneratedImage image : result.images()) {
                        png.encode(image.image(), GenerationMetadata.pngText(request, m.model().name(), scheduler,
                                image.seed()));
                    }
                    long end = System.nanoTime();
                    if (run >= warmup) {
                        m.totals().add(result.timings(), end - pngStart, end - start, stepsRun[0]);
                    }
                }
            }
            for (Measured m : measured) {
                StableDiffusionModel loaded = m.model();
                m.totals().print(String.format(Locale.ROOT, "%s (%s), %dx%d (latents %dx%d), %d steps %s, guidance %.1f, "
                                + "%d measured run(s) after %d warm-up, intra-op threads %s", loaded.name(),
                        loaded.kind(), size, size, size / loaded.geometry().vaeScaleFactor(),
                        size / loaded.geometry().vaeScaleFactor(), steps, scheduler, guidance, runs, warmup,
                        threads == 0 ? "all cores" : threads));
            }
        } finally {
            for (Measured m : measured) {
                m.model().close();
            }
        }
        return 0;
    }

    private record Measured(StableDiffusionModel model, DiffusionPipeline pipeline, Totals totals) {
    }

    /** Sums of stage times over the measured runs (one image per run). */
    private final class Totals {
        long tokenize;
        long textEncode;
        long unet;
        long scheduler;
        long vae;
        long png;
        long glue;
        long wall;
        /** Denoising steps reported to the progress listener (one UNet run each, guidance batched; PNDM runs one more). */
        long steps;

        void add(StageTimings t, long pngNanos, long wallNanos, int stepsRun) {
            steps += stepsRun;
            tokenize += t.tokenize();
            textEncode += t.textEncode();
            unet += t.unet();
            scheduler += t.scheduler();
            vae += t.vaeEncode() + t.vaeDecode();
            png += pngNanos;
            wall += wallNanos;
            glue += wallNanos - pngNanos - t.total() + t.glue();
        }

        void print(String title) {
            System.out.println(title);
            System.out.println("| stage | ms per image | share of wall time |");
            System.out.println("|---|---:|---:|");
            row("tokenizer", tokenize);
            row("text encoder (ONNX)", textEncode);
            row("UNet (ONNX)", unet);
            row("scheduler", scheduler);
            row("VAE (ONNX)", vae);
            row("PNG encoding", png);
            row("glue", glue);
            row("**total**", wall);
            System.out.printf(Locale.ROOT, "inside ONNX Runtime session runs: %.2f%% of wall time%n",
                    100.0 * (textEncode + unet + vae) / wall);
            System.out.printf(Locale.ROOT, "UNet per denoising step: %.3f ms; whole generation (PNG included): %.1f ms%n",
                    unet / 1e6 / steps, wall / 1e6 / runs);
        }

        private void row(String stage, long nanos) {
            System.out.printf(Locale.ROOT, "| %s | %.3f | %.2f%% |%n", stage, nanos / 1e6 / runs, 100.0 * nanos / wall);
        }
    }
}
