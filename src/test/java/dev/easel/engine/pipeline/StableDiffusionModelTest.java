package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.fixtures.OracleBundle;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a loaded bundle gives the requests that leave size, steps and guidance out. */
class StableDiffusionModelTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static StableDiffusionModel load(Path dir, String schedulerClass, String spacing) throws IOException {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir);
        Path config = bundle.resolve("scheduler/scheduler_config.json");
        ObjectNode scheduler = (ObjectNode) JSON.readTree(config.toFile());
        scheduler.put("_class_name", schedulerClass);
        if (spacing != null) {
            scheduler.put("timestep_spacing", spacing);
        }
        JSON.writeValue(config.toFile(), scheduler);
        return StableDiffusionModel.load(bundle, EngineOptions.cpu().withIntraOpThreads(1));
    }

    @Test
    void anOrdinaryBundleGetsItsTrainingSizeAndThirtyGuidedSteps(@TempDir Path dir) throws IOException {
        try (StableDiffusionModel model = load(dir.resolve("sd"), "PNDMScheduler", null)) {
            // unet/config.json sample_size 64 latents × the VAE's 8.
            assertThat(model.defaults()).isEqualTo(new ModelDefaults(512, 512, 30, 7.5f));
            assertThat(model.kind()).isEqualTo("SD");
        }
    }

    @Test
    void anLcmBundleGetsFourUnguidedSteps(@TempDir Path dir) throws IOException {
        try (StableDiffusionModel model = load(dir.resolve("lcm"), "LCMScheduler", null)) {
            assertThat(model.config().defaultScheduler()).isEqualTo("lcm");
            assertThat(model.defaults()).isEqualTo(new ModelDefaults(512, 512, 4, 1f));
            // And those defaults run: the ideal denoiser's target after 4 LCM steps.
            ModelDefaults d = model.defaults();
            GenerationResult result = new DiffusionPipeline(model, GenerationLimits.defaults()).generate(
                    GenerationRequest.builder("a red circle").size(64, 64).steps(d.steps())
                            .guidanceScale(d.guidanceScale()).build(), ProgressListener.NONE, Cancellation.NONE);
            assertThat(result.images()).hasSize(1);
        }
    }

    /** SD-Turbo ships EulerDiscreteScheduler with "trailing" spacing: one unguided step. */
    @Test
    void aTrailingSpacedBundleIsTurboAndGetsOneUnguidedStep(@TempDir Path dir) throws IOException {
        try (StableDiffusionModel model = load(dir.resolve("turbo"), "EulerDiscreteScheduler", "trailing")) {
            assertThat(model.defaults()).isEqualTo(new ModelDefaults(512, 512, 1, 0f));
        }
    }

    /**
     * A graph that opens but breaks the contract (here a text encoder where the UNet belongs, as an
     * LCM export's UNet with its extra timestep_cond input would) fails the load, and every session
     * opened for it is closed: the text encoder's, and the refused graph's own.
     */
    @Test
    void aRefusedGraphLeavesNoSessionOpen(@TempDir Path dir) throws IOException {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("sd"));
        java.nio.file.Files.copy(bundle.resolve("text_encoder/model.onnx"), bundle.resolve("unet/model.onnx"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        int before = dev.easel.engine.onnx.OnnxModel.openCount();

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StableDiffusionModel.load(bundle,
                        EngineOptions.cpu().withIntraOpThreads(1)))
                .isInstanceOf(dev.easel.engine.bundle.BundleException.class).hasMessageContaining("unet");

        assertThat(dev.easel.engine.onnx.OnnxModel.openCount()).isEqualTo(before);
    }

    /**
     * Optional graphs open on first use with loadOnFirstUse (the CLI's one-off run does not pay for
     * a VAE encoder it does not use), at once with load (the worker learns at start that one is broken).
     */
    @Test
    void optionalGraphsOpenOnFirstUseOrAtOnce(@TempDir Path dir) throws IOException {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("sd"));
        java.nio.file.Files.write(bundle.resolve("vae_encoder/model.onnx"), new byte[] {1, 2, 3});
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StableDiffusionModel.load(bundle,
                        EngineOptions.cpu().withIntraOpThreads(1)))
                .isInstanceOf(dev.easel.engine.bundle.BundleException.class).hasMessageContaining("vae_encoder");
        try (StableDiffusionModel model = StableDiffusionModel.loadOnFirstUse("sd", bundle, java.util.Optional.empty(),
                EngineOptions.cpu().withIntraOpThreads(1))) {
            DiffusionPipeline pipeline = new DiffusionPipeline(model, GenerationLimits.defaults());
            assertThat(pipeline.generate(GenerationRequest.builder("a red circle").size(64, 64).steps(2).build(),
                    ProgressListener.NONE, Cancellation.NONE).images()).hasSize(1);
            GenerationRequest img2img = GenerationRequest.builder("a red circle").size(64, 64).steps(2)
                    .image(ImageInput.img2img(Pixels.solid(64, 64, 10, 20, 30), 0.5f)).build();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> pipeline.generate(img2img, ProgressListener.NONE,
                            Cancellation.NONE))
                    .isInstanceOf(dev.easel.engine.bundle.BundleException.class).hasMessageContaining("vae_encoder");
        }
    }
}
