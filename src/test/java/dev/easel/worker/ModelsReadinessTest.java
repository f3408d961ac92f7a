package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.fixtures.OracleBundle;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelsReadinessTest {

    @TempDir
    Path dir;

    @Test
    void downWhileLoadingThenUpWhenEveryModelLoaded() throws Exception {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        ModelRegistry registry = registry(Map.of("oracle", bundle));
        ModelsReadiness readiness = new ModelsReadiness(registry);

        HealthCheckResponse loading = readiness.call();
        registry.loadAll();
        HealthCheckResponse loaded = readiness.call();

        assertThat(loading.getName()).isEqualTo("models");
        assertThat(loading.getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(loading.getData()).hasValueSatisfying(d -> assertThat(d).containsEntry("oracle", "loading"));
        assertThat(loaded.getStatus()).isEqualTo(HealthCheckResponse.Status.UP);
        assertThat(loaded.getData()).hasValueSatisfying(d -> assertThat(d.get("oracle").toString()).matches("loaded in \\d+ ms"));
        registry.pipeline("oracle").orElseThrow().model().close();
    }

    @Test
    void modelThatFailedToLoadKeepsItDownWithTheReason() throws Exception {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        ModelRegistry registry = registry(Map.of("oracle", bundle, "broken", dir.resolve("no-such-bundle")));
        registry.loadAll();

        HealthCheckResponse response = new ModelsReadiness(registry).call();

        assertThat(response.getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(response.getData()).hasValueSatisfying(d -> {
            assertThat(d.get("broken").toString()).startsWith("failed: ").contains("no-such-bundle");
            assertThat(d.get("oracle").toString()).startsWith("loaded in ");
        });
        assertThat(registry.available()).containsExactly("oracle");
        registry.pipeline("oracle").orElseThrow().model().close();
    }

    @Test
    void noModelConfiguredIsDown() {
        ModelRegistry registry = registry(Map.of());
        registry.loadAll();

        HealthCheckResponse response = new ModelsReadiness(registry).call();

        assertThat(response.getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(response.getData()).hasValueSatisfying(d -> assertThat(d.get("reason").toString()).contains("easel.models"));
    }

    private static ModelRegistry registry(Map<String, Path> bundles) {
        return new ModelRegistry(bundles, Map.of(), EngineOptions.cpu().withIntraOpThreads(1), GenerationLimits.defaults());
    }
}
