package dev.easel.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationMetadata;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.RandomSdBundle;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Intra-op threads and spinning, side by side in one process: a UNet-dominated random SD bundle
 * loaded once per setting, runs alternating between the settings so machine noise hits all alike.
 * Per setting: the whole job (text, loop, decode, PNG encoding — the Java stages a spinning pool
 * starves) and a bare UNet run; plus a bare UNet session left at ONNX Runtime's own thread default.
 * {@code ./mvnw test-compile exec:java@threads-bench [-Dexec.args="--size 256 --steps 10 --rounds 5"]}
 */
@Command(name = "threads-bench", mixinStandardHelpOptions = true, description = "Threads and spinning, side by side.")
public final class ThreadsBenchmark implements Callable<Integer> {

    @Option(names = "--size", defaultValue = "256", description = "Image side (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--steps", defaultValue = "10", description = "Euler steps per job (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--rounds", defaultValue = "5", description = "Measured rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--unet-widths", split = ",", defaultValue = "64,128,256",
            description = "UNet widths of the random bundle (default ${DEFAULT-VALUE}).")
    List<Integer> widths;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ThreadsBenchmark()).execute(args));
    }

    private record Setting(String name, EngineOptions options) {
    }

    @Override
    public Integer call() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        List<Boolean> attention = new ArrayList<>();
        widths.forEach(w -> attention.add(attention.size() > 0));
        RandomSdBundle.Spec spec = RandomSdBundle.Spec.defaults().withUnet(widths, attention, 1, 4);
        Path bundle = RandomSdBundle.create(spec).writeTo(Files.createTempDirectory("easel-threads").resolve("wide"));
        List<Setting> settings = List.of(
                new Setting("1 thread, no spinning", EngineOptions.cpu().withIntraOpThreads(1)),
                new Setting("default (0 = " + cores + " threads), no spinning", EngineOptions.cpu()),
                new Setting(cores + " threads, UNet spins", EngineOptions.cpu().withSpinning(EngineOptions.Spinning.LOOP)),
                new Setting(cores + " threads, all spin", EngineOptions.cpu().withSpinning(EngineOptions.Spinning.ALL)));
        List<StableDiffusionModel> models = new ArrayList<>();
        Map<String, List<Double>> job = new HashMap<>();
        Map<String, List<Double>> png = new HashMap<>();
        Map<String, List<Double>> unet = new HashMap<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions ortDefault = new OrtSession.SessionOptions()) {
            ortDefault.addConfigEntry("session.intra_op.allow_spinning", "0");
            try (OrtSession bare = env.createSession(bundle.resolve("unet/model.onnx").toString(), ortDefault)) {
                for (Setting s : settings) {
                    models.add(StableDiffusionModel.load(bundle, s.options()));
                }
                PngEncoder encoder = new PngEncoder();
                for (int round = -1; round < rounds; round++) {
                    for (int i = 0; i < settings.size(); i++) {
                        DiffusionPipeline pipeline = new DiffusionPipeline(models.get(i), GenerationLimits.defaults());
                        GenerationRequest request = GenerationRequest.builder("a big red circle").size(size, size)
                                .steps(steps).scheduler("euler").seed(round).build();
                        long t0 = System.nanoTime();
                        GenerationResult result = pipeline.generate(request, (a, b) -> { }, () -> { });
                        long t1 = System.nanoTime();
                        for (GeneratedImage image : result.images()) {
                            encoder.encode(image.image(), GenerationMetadata.pngText(request, "wide", "euler", image));
                        }
                        long t2 = System.nanoTime();
                        if (round >= 0) {
                            String name = settings.get(i).name();
                            job.computeIfAbsent(name, k -> new ArrayList<>()).add((t2 - t0) / 1e6);
                            png.computeIfAbsent(name, k -> new ArrayList<>()).add((t2 - t1) / 1e6);
                            unet.computeIfAbsent(name, k -> new ArrayList<>())
                                    .add(result.timings().unet() / 1e6 / steps);
                        }
                    }
                    double bareMs = bareUnet(env, bare);
                    if (round >= 0) {
                        unet.computeIfAbsent("ONNX Runtime's own thread default (bare session)", k -> new ArrayList<>())
                                .add(bareMs);
                    }
                }
            }
        } finally {
            models.forEach(StableDiffusionModel::close);
        }
        System.out.printf(Locale.ROOT, "random SD bundle, UNet widths %s, %dx%d, %d Euler steps, guidance 7.5, %d cores,"
                + " %d rounds (medians)%n", widths, size, size, steps, cores, rounds);
        System.out.println("| setting | whole job | UNet run (batch 2) | PNG encode after |");
        System.out.println("|---|---:|---:|---:|");
        for (Setting s : settings) {
            System.out.printf(Locale.ROOT, "| %s | %.0f ms | %.1f ms | %.1f ms |%n", s.name(), median(job.get(s.name())),
                    median(unet.get(s.name())), median(png.get(s.name())));
        }
        System.out.printf(Locale.ROOT, "| ONNX Runtime's own thread default (bare session) | | %.1f ms | |%n",
                median(unet.get("ONNX Runtime's own thread default (bare session)")));
        return 0;
    }

    /** One bare UNet run at batch 2 with zero inputs. */
    private double bareUnet(OrtEnvironment env, OrtSession session) throws Exception {
        int latent = size / 8;
        float[] sample = new float[2 * 4 * latent * latent];
        int hidden = (int) ((ai.onnxruntime.TensorInfo) session.getInputInfo().get("encoder_hidden_states").getInfo())
                .getShape()[2];
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample), new long[] {2, 4, latent, latent});
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {500, 500}), new long[] {2});
             OnnxTensor text = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[2 * 77 * hidden]),
                     new long[] {2, 77, hidden})) {
            Map<String, OnnxTensor> inputs = Map.of("sample", x, "timestep", t, "encoder_hidden_states", text);
            long t0 = System.nanoTime();
            try (OrtSession.Result ignored = session.run(inputs)) {
                return (System.nanoTime() - t0) / 1e6;
            }
        }
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
