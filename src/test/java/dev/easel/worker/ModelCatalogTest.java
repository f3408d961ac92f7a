package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.JobLimits;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.OracleSdxlBundle;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCatalogTest {

    @Test
    void describesEachModelsFamilyDefaultsLimitsAndCapabilities(@TempDir Path dir) throws Exception {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        try (StableDiffusionModel sd = StableDiffusionModel.load("sd", OracleBundle.create(OracleBundle.Spec.defaults())
                .writeTo(dir.resolve("sd")), options);
             StableDiffusionModel xl = StableDiffusionModel.load("xl", OracleSdxlBundle.create(
                     OracleSdxlBundle.Spec.defaults()).writeTo(dir.resolve("xl")), options)) {
            ModelRegistry registry = ModelRegistry.of(Map.of("sd", new DiffusionPipeline(sd, GenerationLimits.defaults()),
                    "xl", new DiffusionPipeline(xl, GenerationLimits.defaults())));
            List<ModelCatalog.Model> models = new ModelCatalog(registry, JobLimits.defaults()).describe();

            assertThat(models).extracting(ModelCatalog.Model::name).containsExactly("sd", "xl");
            ModelCatalog.Model first = models.get(0);
            assertThat(first.state()).isEqualTo("loaded");
            assertThat(first.kind()).contains("SD");
            assertThat(first.defaults().orElseThrow())
                    .isEqualTo(new ModelCatalog.Defaults(512, 512, 30, 7.5, "pndm", "plain"));
            assertThat(first.limits().orElseThrow().sizeMultiple()).isEqualTo(8);
            assertThat(first.limits().orElseThrow().maxPromptChunks()).isEqualTo(GenerationLimits.MAX_PROMPT_CHUNKS);
            ModelCatalog.Capabilities sdCan = first.capabilities().orElseThrow();
            assertThat(sdCan.imageToImage()).isTrue();
            assertThat(sdCan.clip()).isFalse();
            assertThat(sdCan.micro()).isFalse();
            // This oracle's UNet fixes its text sequence at 77 tokens.
            assertThat(sdCan.longPrompts()).isFalse();
            ModelCatalog.Model second = models.get(1);
            assertThat(second.kind()).contains("SDXL");
            assertThat(second.defaults().orElseThrow().scheduler()).isEqualTo("euler");
            assertThat(second.capabilities().orElseThrow().micro()).isTrue();
            assertThat(second.capabilities().orElseThrow().longPrompts()).isTrue();
        }
    }
}
