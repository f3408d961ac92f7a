package dev.easel.engine.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.easel.engine.scheduler.SchedulerConfig;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.testing.SharedData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The real SDXL base 1.0 configuration files (../shared/reference-bundles/sdxl-base, no weights)
 * read as SDXL: two text stages whose tokenizers pad differently, diffusers' SDXL flags, the UNet
 * and VAE configs, and the Euler scheduler with its spacing. The SD 1.5 Olive configs still read as
 * one text stage beside it.
 */
class SdxlReferenceConfigTest {

    private static Path sdxlBase() {
        return SharedData.root().resolve("reference-bundles/sdxl-base");
    }

    @Test
    void twoTextStagesWhoseTokenizersPadDifferently() {
        BundleConfig config = BundleConfig.read(sdxlBase());
        Path root = sdxlBase();
        assertThat(config.layout().texts()).extracting(BundleLayout.TextStage::tokenizer)
                .containsExactly(root.resolve("tokenizer"), root.resolve("tokenizer_2"));
        assertThat(config.layout().texts()).extracting(BundleLayout.TextStage::encoder)
                .containsExactly(root.resolve("text_encoder/model.onnx"), root.resolve("text_encoder_2/model.onnx"));
        assertThat(config.layout().texts()).extracting(BundleLayout.TextStage::second).containsExactly(false, true);

        assertThat(config.tokenizers()).hasSize(2);
        ClipTokenizer first = config.tokenizers().get(0);
        ClipTokenizer second = config.tokenizers().get(1);
        // Same vocabulary; CLIP-L pads with <|endoftext|> (49407), OpenCLIP-bigG with the vocabulary
        // entry "!" (id 0, as transformers' convert_tokens_to_ids), not the word "!" ("!</w>", 256).
        assertThat(first.maxLength()).isEqualTo(77);
        assertThat(second.maxLength()).isEqualTo(77);
        assertThat(first.padId()).isEqualTo(first.eosId()).isEqualTo(49407);
        assertThat(second.padId()).isNotEqualTo(first.padId()).isZero();
        assertThat(second.tokenIds("!")).containsExactly(256);
        assertThat(first.bosId()).isEqualTo(second.bosId());
        int[] padded1 = first.encodePadded("a red circle");
        int[] padded2 = second.encodePadded("a red circle");
        assertThat(padded1[10]).isEqualTo(first.padId());
        assertThat(padded2[10]).isEqualTo(second.padId());
        // Only the padding after the end token differs.
        assertThat(java.util.Arrays.copyOf(padded1, 5)).containsExactly(java.util.Arrays.copyOf(padded2, 5));
    }

    @Test
    void sdxlFlagsAndComponentConfigs() {
        BundleConfig config = BundleConfig.read(sdxlBase());
        assertThat(config.modelIndex().className()).isEqualTo("StableDiffusionXLPipeline");
        assertThat(config.modelIndex().forceZerosForEmptyPrompt()).isTrue();
        assertThat(config.modelIndex().requiresAestheticsScore()).isFalse();
        assertThat(config.modelIndex().componentClass("text_encoder_2")).isEqualTo("CLIPTextModelWithProjection");

        ComponentConfigs components = config.components();
        assertThat(components.unetSampleSize()).hasValue(128);
        assertThat(components.unetInChannels()).hasValue(4);
        assertThat(components.crossAttentionDim()).hasValue(2048);
        // The first text stage's config: CLIP-L's 768 (the UNet's 2048 = 768 + bigG's 1280).
        assertThat(components.textHiddenSize()).hasValue(768);
        assertThat(components.latentChannels()).hasValue(4);
        // 4 VAE blocks → factor 8, so a job without a size gets 128 × 8 = 1024 px.
        assertThat(components.vaeScaleFactor()).hasValue(8);
        assertThat(components.unetSampleSize().getAsInt() * components.vaeScaleFactor().getAsInt()).isEqualTo(1024);
        assertThat(components.forceUpcast()).isTrue();
        assertThat(components.vaeScalingFactor().getAsDouble()).isCloseTo(0.13025, within(1e-9));
    }

    @Test
    void eulerWithLeadingSpacing() {
        BundleConfig config = BundleConfig.read(sdxlBase());
        assertThat(config.defaultScheduler()).isEqualTo("euler");
        SchedulerConfig scheduler = config.scheduler();
        assertThat(scheduler.timestepSpacing()).isEqualTo(SchedulerConfig.TimestepSpacing.LEADING);
        assertThat(scheduler.stepsOffset()).isEqualTo(1);
        assertThat(scheduler.numTrainTimesteps()).isEqualTo(1000);
        assertThat(scheduler.betaSchedule()).isEqualTo(SchedulerConfig.BetaSchedule.SCALED_LINEAR);
        assertThat(scheduler.betaEnd()).isCloseTo(0.012, within(1e-12));
        assertThat(scheduler.predictionType()).isEqualTo(SchedulerConfig.PredictionType.EPSILON);
        assertThat(scheduler.useKarrasSigmas()).isFalse();
    }

    /** Its weights are absent: requireModels names both text encoders, so a stage is not silently dropped. */
    @Test
    void aBundleWithoutWeightsNamesBothEncoders() {
        BundleLayout layout = BundleConfig.read(sdxlBase()).layout();
        org.assertj.core.api.Assertions.assertThatThrownBy(layout::requireModels)
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("text_encoder/model.onnx")
                .hasMessageContaining("text_encoder_2/model.onnx")
                .hasMessageContaining("unet/model.onnx");
    }

    @Test
    void sd15StillReadsAsOneStage() {
        BundleConfig config = BundleConfig.read(SharedData.sd15Bundle());
        assertThat(config.layout().texts()).hasSize(1);
        assertThat(config.layout().texts().get(0).second()).isFalse();
        assertThat(config.tokenizers()).hasSize(1);
        assertThat(config.modelIndex().forceZerosForEmptyPrompt()).isFalse();
        assertThat(config.modelIndex().requiresAestheticsScore()).isFalse();
        assertThat(config.defaultScheduler()).isEqualTo("pndm");
    }
}
