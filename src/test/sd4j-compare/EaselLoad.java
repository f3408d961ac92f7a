import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.OrtEnv;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.nio.file.Path;
import java.util.Optional;

/**
 * EaselLoad BUNDLE eager|lazy: a cold JVM's load of an Easel bundle, timed like Sd4jLoad times
 * sd4j's (compare.sh). eager: every graph (the worker's load); lazy: the text encoder, UNet and VAE
 * decoder (the CLI's load: optional graphs open on first use).
 */
public final class EaselLoad {
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        Path dir = Path.of(args[0]).toAbsolutePath();
        boolean eager = switch (args[1]) {
            case "eager" -> true;
            case "lazy" -> false;
            default -> throw new IllegalArgumentException("eager or lazy, not " + args[1]);
        };
        OrtEnv.get();
        long t1 = System.nanoTime();
        StableDiffusionModel model = eager
                ? StableDiffusionModel.load(dir, EngineOptions.cpu())
                : StableDiffusionModel.loadOnFirstUse(dir.getFileName().toString(), dir, Optional.empty(),
                        EngineOptions.cpu());
        long t2 = System.nanoTime();
        System.out.printf("env_ms=%.1f load_ms=%.1f total_ms=%.1f%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6,
                (t2 - t0) / 1e6);
        model.close();
        System.exit(0);
    }
}
