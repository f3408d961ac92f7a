package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Optimized graphs kept between starts: written by the first load, used by the next, the same pictures. */
class OptimizedModelCacheTest {

    private static byte[] picture(Path bundle, EngineOptions options) {
        try (StableDiffusionModel model = StableDiffusionModel.load(bundle, options)) {
            return new DiffusionPipeline(model, GenerationLimits.defaults()).generate(
                    GenerationRequest.builder("a red circle").size(64, 64).steps(3).scheduler("euler").seed(5).build(),
                    ProgressListener.NONE, Cancellation.NONE).images().get(0).image().rgb();
        }
    }

    private static List<Path> entries(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.sorted().toList();
        }
    }

    @Test
    void theSecondStartLoadsTheOptimizedGraphsAndDrawsTheSame(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("sd"));
        Path cache = dir.resolve("cache");
        EngineOptions plain = EngineOptions.cpu().withIntraOpThreads(1);
        EngineOptions cached = plain.withOptimizedCache(cache);
        byte[] reference = picture(bundle, plain);

        byte[] first = picture(bundle, cached);
        // text encoder, UNet, VAE decoder and encoder: one entry each, no temporary directory left.
        List<Path> written = entries(cache);
        assertThat(written).hasSize(4).allSatisfy(entry -> {
            assertThat(entry.getFileName().toString()).doesNotContain(".tmp-");
            assertThat(entry.resolve(OptimizedModelCache.MODEL)).isRegularFile();
        });
        byte[] second = picture(bundle, cached);
        assertThat(entries(cache)).isEqualTo(written);
        assertThat(first).isEqualTo(reference);
        assertThat(second).isEqualTo(reference);
    }

    @Test
    void aBrokenEntryIsReplacedNotFatal(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("sd"));
        Path cache = dir.resolve("cache");
        EngineOptions cached = EngineOptions.cpu().withIntraOpThreads(1).withOptimizedCache(cache);
        byte[] first = picture(bundle, cached);
        for (Path entry : entries(cache)) {
            Files.write(entry.resolve(OptimizedModelCache.MODEL), new byte[] {1, 2, 3});
        }
        assertThat(picture(bundle, cached)).isEqualTo(first);
    }

    @Test
    void theKeyChangesWithTheModelAndTheEnvironment(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("sd"));
        Path unet = bundle.resolve("unet/model.onnx");
        OptimizedModelCache a = new OptimizedModelCache(dir, OptimizedModelCache.environment("1.29.0", EngineOptions.cpu()));
        OptimizedModelCache b = new OptimizedModelCache(dir, OptimizedModelCache.environment("1.30.0", EngineOptions.cpu()));
        String before = a.key(unet);
        assertThat(b.key(unet)).isNotEqualTo(before);
        assertThat(a.key(bundle.resolve("vae_decoder/model.onnx"))).isNotEqualTo(before);
        assertThat(unet.toFile().setLastModified(unet.toFile().lastModified() + 5000)).isTrue();
        assertThat(a.key(unet)).isNotEqualTo(before);
    }
}
