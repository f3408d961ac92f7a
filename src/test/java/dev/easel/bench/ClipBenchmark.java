package dev.easel.bench;

import dev.easel.engine.bundle.ClipLayout;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.ClipLimits;
import dev.easel.engine.pipeline.ClipOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What each CLIP mode buys and costs on a bundle with a CLIP model: mean CLIP score and seconds per
 * image over prompts × seeds, for plain CFG, best-of-4, verifier search at about best-of-4's UNet
 * passes (4 branches after every step but the last: 1 + 3·(steps − 1)/steps passes per step), and
 * gradient guidance at two scales (when the bundle has clip_guidance/model.onnx).
 *
 * <pre>./mvnw -q test-compile exec:java@clip-bench -Dexec.args="--model DIR [--clip DIR] [--size 512]"</pre>
 * Text-following accuracy needs the demo model's checker and is not measured here.
 */
@Command(name = "clip-bench", mixinStandardHelpOptions = true, description = "CLIP score and time per CLIP mode.")
public final class ClipBenchmark implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Bundle directory with clip/ (or --clip).")
    Path model;

    @Option(names = "--clip", description = "CLIP model directory (default: the bundle's clip/).")
    Path clip;

    @Option(names = "--prompts", split = ";", defaultValue = "a red circle;a blue square;a green tree;a yellow house",
            description = "Prompts, ';'-separated (default ${DEFAULT-VALUE}).")
    List<String> prompts;

    @Option(names = "--seeds", defaultValue = "4", description = "Seeds per prompt (default ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--size", defaultValue = "512", description = "Image width and height (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--steps", defaultValue = "20", description = "Denoising steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "CFG scale (default ${DEFAULT-VALUE}).")
    float guidance;

    @Option(names = "--scheduler", defaultValue = "ddim", description = "Scheduler (default ${DEFAULT-VALUE}).")
    String scheduler;

    @Option(names = "--clip-scales", split = ",", defaultValue = "100,400",
            description = "Two gradient guidance scales (default ${DEFAULT-VALUE}).")
    List<Double> clipScales;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads, 0 = all cores (default ${DEFAULT-VALUE}).")
    int threads;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ClipBenchmark()).execute(args));
    }

    private record Mode(String name, ClipOptions options) {
    }

    @Override
    public Integer call() {
        List<Mode> modes = new ArrayList<>();
        modes.add(new Mode("plain CFG", ClipOptions.NONE.withScore()));
        modes.add(new Mode("best-of-4", ClipOptions.NONE.withRerank(4)));
        modes.add(new Mode("verifier (4 branches, every step)",
                ClipOptions.NONE.withVerifier(new ClipOptions.Verifier(4, new ClipOptions.Every(1)))));
        boolean gradient = Files.isRegularFile(model.resolve(StableDiffusionModel.CLIP_GUIDANCE));
        for (double scale : clipScales) {
            modes.add(new Mode("gradient guidance, scale " + scale, ClipOptions.NONE.withGuidance(scale)));
        }
        Optional<Path> clipDir = Optional.ofNullable(clip).or(() -> ClipLayout.inBundle(model));
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(threads);
        // The verifier's every-step search needs more evaluations than the default budget.
        GenerationLimits limits = new GenerationLimits(4096, 4096L * 4096, 1000, 16, 30f,
                new ClipLimits(16, 4 * steps, 10_000f));
        try (StableDiffusionModel loaded = StableDiffusionModel.load(name(), model, clipDir, options)) {
            DiffusionPipeline pipeline = new DiffusionPipeline(loaded, limits);
            run(pipeline, modes.get(0).options(), prompts.get(0), 0); // warm-up
            System.out.printf(Locale.ROOT, "%s: %d prompts x %d seeds, %dx%d, %d steps, %s, CFG %.1f%n", model,
                    prompts.size(), seeds, size, size, steps, scheduler, guidance);
            System.out.println("| mode | mean CLIP score | s / image |");
            System.out.println("|---|---:|---:|");
            for (Mode mode : modes) {
                if (mode.options().guidanceScale().isPresent() && !gradient) {
                    System.out.printf("| %s | (no %s) | |%n", mode.name(), StableDiffusionModel.CLIP_GUIDANCE);
                    continue;
                }
                double score = 0;
                long nanos = 0;
                int n = 0;
                for (String prompt : prompts) {
                    for (int seed = 0; seed < seeds; seed++) {
                        long t0 = System.nanoTime();
                        GenerationResult result = run(pipeline, mode.options(), prompt, seed);
                        nanos += System.nanoTime() - t0;
                        score += result.images().get(0).clipScore().orElseThrow();
                        n++;
                    }
                }
                System.out.printf(Locale.ROOT, "| %s | %.2f | %.3f |%n", mode.name(), score / n, nanos / 1e9 / n);
            }
        }
        return 0;
    }

    private GenerationResult run(DiffusionPipeline pipeline, ClipOptions clipOptions, String prompt, long seed) {
        GenerationRequest request = GenerationRequest.builder(prompt).size(size, size).steps(steps)
                .guidanceScale(guidance).scheduler(scheduler).seed(1000 + seed * 16).clip(clipOptions).build();
        return pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE);
    }

    private String name() {
        return model.getFileName() == null ? model.toString() : model.getFileName().toString();
    }
}
