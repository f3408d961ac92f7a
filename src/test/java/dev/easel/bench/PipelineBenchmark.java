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
import java.nio.file.Files;
import java.nio.file.Path;
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
 * Without {@code --model} it writes the default random SD-shaped bundle (see
 * {@link RandomSdBundle.Spec#defaults()}) to a temporary directory first.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Per-stage timing of the pipeline.")
public final class PipelineBenchmark implements Callable<Integer> {

    @Option(names = "--model", description = "Bundle directory (default: a fresh random SD-shaped bundle).")
    Path model;

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
        Path bundle = model != null ? model
                : RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(Files.createTempDirectory("easel-bench"));
        try (StableDiffusionModel loaded = StableDiffusionModel.load(bundle, EngineOptions.cpu().withIntraOpThreads(threads))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(loaded, GenerationLimits.defaults());
            PngEncoder png = new PngEncoder();
            Totals totals = new Totals();
            for (int run = 0; run < warmup + runs; run++) {
                GenerationRequest request = GenerationRequest.builder("a big red circle on a blue background")
                        .size(size, size).steps(steps).guidanceScale(guidance).scheduler(scheduler).seed(run).build();
                long start = System.nanoTime();
                GenerationResult result = pipeline.generate(request, (s, t) -> { }, () -> { });
                long pngStart = System.nanoTime();
                for (GeneratedImage image : result.images()) {
                    png.encode(image.image(), GenerationMetadata.pngText(request, loaded.name(), scheduler, image.seed()));
                }
                long end = System.nanoTime();
                if (run >= warmup) {
                    totals.add(result.timings(), end - pngStart, end - start);
                }
            }
            totals.print(String.format(Locale.ROOT, "%s, %dx%d (latents %dx%d), %d steps %s, guidance %.1f, "
                            + "%d measured run(s) after %d warm-up, intra-op threads %s", bundle.getFileName(), size,
                    size, size / loaded.geometry().vaeScaleFactor(), size / loaded.geometry().vaeScaleFactor(), steps,
                    scheduler, guidance, runs, warmup, threads == 0 ? "all cores" : threads));
        }
        return 0;
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

        void add(StageTimings t, long pngNanos, long wallNanos) {
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
        }

        private void row(String stage, long nanos) {
            System.out.printf(Locale.ROOT, "| %s | %.3f | %.2f%% |%n", stage, nanos / 1e6 / runs, 100.0 * nanos / wall);
        }
    }
}
