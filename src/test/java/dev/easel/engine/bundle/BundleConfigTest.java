package dev.easel.engine.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.testing.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Stable Diffusion 1.5 (Olive export) configuration files load and are understood. */
class BundleConfigTest {

    @Test
    void readsTheRealSd15Configs() {
        BundleConfig config = BundleConfig.read(SharedData.sd15Bundle());
        assertEquals("OnnxStableDiffusionPipeline", config.modelIndex().className());
        assertEquals("0.24.0", config.modelIndex().diffusersVersion());
        assertEquals("PNDMScheduler", config.modelIndex().componentClass("scheduler"));
        assertEquals("OnnxRuntimeModel", config.modelIndex().componentClass("unet"));
        assertEquals("pndm", config.defaultScheduler());
        assertEquals(77, config.tokenizer().maxLength());
        assertEquals(49407, config.tokenizer().padId());
        assertEquals(49406, config.tokenizer().bosId());
        // The Olive export carries no per-component config.json: everything comes from the graphs.
        assertTrue(config.components().vaeScalingFactor().isEmpty());
        assertTrue(config.components().unetInChannels().isEmpty());
        assertTrue(config.layout().vaeEncoder().isEmpty());
    }

    @Test
    void loadingTheWeightlessBundleNamesEveryMissingModelFile() {
        BundleException e = assertThrows(BundleException.class,
                () -> StableDiffusionModel.load(SharedData.sd15Bundle(), EngineOptions.cpu()));
        assertThat(e.getMessage()).contains("text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx");
    }

    @Test
    void missingModelIndexIsNamed(@TempDir Path dir) throws IOException {
        copy(SharedData.sd15Bundle(), dir);
        Files.delete(dir.resolve("model_index.json"));
        BundleException e = assertThrows(BundleException.class, () -> BundleConfig.read(dir));
        assertThat(e.getMessage()).contains(dir.resolve("model_index.json").toString(), "missing");
    }

    @Test
    void malformedJsonIsNamed(@TempDir Path dir) throws IOException {
        copy(SharedData.sd15Bundle(), dir);
        Path scheduler = dir.resolve("scheduler/scheduler_config.json");
        Files.writeString(scheduler, "{\"beta_start\": 0.00085,");
        BundleException e = assertThrows(BundleException.class, () -> BundleConfig.read(dir));
        assertThat(e.getMessage()).contains(scheduler.toString());
    }

    @Test
    void componentConfigValuesAreValidated(@TempDir Path dir) throws IOException {
        copy(SharedData.sd15Bundle(), dir);
        Path vae = dir.resolve("vae_decoder/config.json");
        Files.createDirectories(vae.getParent());
        Files.writeString(vae, "{\"latent_channels\": 4, \"scaling_factor\": -1}");
        BundleException e = assertThrows(BundleException.class, () -> BundleConfig.read(dir));
        assertThat(e.getMessage()).contains(vae.toString(), "scaling_factor", "-1");

        Files.writeString(vae, "{\"latent_channels\": 4, \"scaling_factor\": 0.13025, \"block_out_channels\": [1,2,3,4]}");
        ComponentConfigs read = BundleConfig.read(dir).components();
        assertEquals(0.13025, read.vaeScalingFactor().getAsDouble(), 1e-9);
        assertEquals(8, read.vaeScaleFactor().getAsInt());
        assertEquals(4, read.latentChannels().getAsInt());
    }

    static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target);
                    target.toFile().setWritable(true);
                }
            }
        }
    }
}
