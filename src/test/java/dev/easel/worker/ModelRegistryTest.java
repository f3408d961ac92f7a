package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ModelsConfig;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRegistryTest {

    private static ModelsConfig.JobDefaultsConfig configured(Optional<Integer> side, Optional<Integer> steps,
                                                             Optional<Double> guidance) {
        return new ModelsConfig.JobDefaultsConfig() {
            @Override
            public Optional<Integer> width() {
                return side;
            }

            @Override
            public Optional<Integer> height() {
                return side;
            }

            @Override
            public Optional<Integer> steps() {
                return steps;
            }

            @Override
            public Optional<Double> guidanceScale() {
                return guidance;
            }
        };
    }

    /** easel.models.<name>.defaults.* win over the bundle's, one by one. */
    @Test
    void configuredDefaultsOverrideTheBundlesOneByOne() {
        ModelDefaults turbo = new ModelDefaults(512, 512, 1, 0f);
        assertThat(ModelRegistry.overridden(turbo, configured(Optional.empty(), Optional.of(4), Optional.empty())))
                .isEqualTo(new ModelDefaults(512, 512, 4, 0f));
        assertThat(ModelRegistry.overridden(turbo, configured(Optional.of(768), Optional.empty(), Optional.of(1.5))))
                .isEqualTo(new ModelDefaults(768, 768, 1, 1.5f));
        assertThat(ModelRegistry.overridden(turbo, configured(Optional.empty(), Optional.empty(), Optional.empty())))
                .isEqualTo(turbo);
    }

    @Test
    void theWarmUpRunsAtTheSizeAndGuidanceJobsGetByDefault(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ModelRegistry registry = new ModelRegistry(Map.of("sd", bundle), Map.of(), EngineOptions.cpu()
                .withIntraOpThreads(1), GenerationLimits.defaults()).warmingUp(true)
                .withDefaults("sd", configured(Optional.of(48), Optional.of(2), Optional.of(1.0)));
        try (dev.easel.testing.LogCapture logs = dev.easel.testing.LogCapture.of("dev.easel.worker.ModelRegistry")) {
            registry.loadAll();
            assertThat(logs.records(r -> r.getFormattedMessage().contains("warmed up")))
                    .extracting(org.jboss.logmanager.ExtLogRecord::getFormattedMessage).singleElement()
                    .asString().startsWith("model sd warmed up (1 step at 48x48)");
        } finally {
            registry.loadedNow().values().forEach(p -> p.model().close());
        }
    }

    @Test
    void aWarmedUpModelLoadsAndServesAsBefore(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ModelRegistry registry = new ModelRegistry(Map.of("sd", bundle), Map.of(), EngineOptions.cpu()
                .withIntraOpThreads(1), GenerationLimits.defaults()).warmingUp(true);
        registry.loadAll();
        assertThat(registry.available()).containsExactly("sd");
        assertThat(registry.statuses().get("sd").describe()).startsWith("loaded in");
        // The warm-up's one step left nothing behind: a job's picture is the same as a cold model's.
        ModelRegistry cold = new ModelRegistry(Map.of("sd", bundle), Map.of(), EngineOptions.cpu()
                .withIntraOpThreads(1), GenerationLimits.defaults());
        cold.loadAll();
        var request = dev.easel.engine.pipeline.GenerationRequest.builder("a red circle").size(64, 64).steps(3).seed(5)
                .build();
        byte[] warm = registry.pipeline("sd").orElseThrow().generate(request,
                dev.easel.engine.pipeline.ProgressListener.NONE, dev.easel.engine.pipeline.Cancellation.NONE)
                .images().get(0).image().rgb();
        byte[] plain = cold.pipeline("sd").orElseThrow().generate(request,
                dev.easel.engine.pipeline.ProgressListener.NONE, dev.easel.engine.pipeline.Cancellation.NONE)
                .images().get(0).image().rgb();
        assertThat(warm).isEqualTo(plain);
        registry.loadedNow().values().forEach(p -> p.model().close());
        cold.loadedNow().values().forEach(p -> p.model().close());
    }

    /**
     * A job still busy past the drain's cut-off (decoding, building a rewritten model) keeps the
     * models open at shutdown: closed under it, ONNX Runtime would crash the JVM in native code.
     */
    @Test
    void shutdownLeavesTheModelsOpenWhileAJobStillRuns(@TempDir Path dir) throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ModelRegistry registry = new ModelRegistry(Map.of("sd", bundle), Map.of(), EngineOptions.cpu()
                .withIntraOpThreads(1), GenerationLimits.defaults());
        registry.loadAll();
        WorkerLifecycle lifecycle = new WorkerLifecycle(java.time.Duration.ZERO);
        assertThat(lifecycle.begin()).isTrue();
        var request = dev.easel.engine.pipeline.GenerationRequest.builder("a red circle").size(64, 64).steps(2).seed(5)
                .build();
        var pipeline = registry.pipeline("sd").orElseThrow();

        registry.onStop(null, lifecycle);

        assertThat(pipeline.generate(request, dev.easel.engine.pipeline.ProgressListener.NONE,
                dev.easel.engine.pipeline.Cancellation.NONE).images()).hasSize(1);
        lifecycle.end();
        registry.onStop(null, lifecycle);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pipeline.generate(request,
                dev.easel.engine.pipeline.ProgressListener.NONE, dev.easel.engine.pipeline.Cancellation.NONE))
                .isInstanceOf(IllegalStateException.class);
    }

    /**
     * A job waits for its own model only. Here the second bundle's load hangs (its model_index.json
     * is a named pipe: reading it blocks, as stalled network storage would) while the first's jobs
     * go on and an unknown name is answered at once; before, every job waited for every model.
     */
    @Test
    void oneModelsJobsDoNotWaitForAnotherStillLoading(@TempDir Path dir) throws Exception {
        Path fast = dev.easel.fixtures.OracleBundle.create(dev.easel.fixtures.OracleBundle.Spec.defaults())
                .writeTo(dir.resolve("a"));
        Path slow = dev.easel.fixtures.OracleBundle.create(dev.easel.fixtures.OracleBundle.Spec.defaults())
                .writeTo(dir.resolve("z"));
        Path index = slow.resolve("model_index.json");
        java.nio.file.Files.delete(index);
        assertThat(new ProcessBuilder("mkfifo", index.toString()).start().waitFor()).isZero();
        ModelRegistry registry = new ModelRegistry(Map.of("a", fast, "z", slow), Map.of(),
                EngineOptions.cpu().withIntraOpThreads(1), GenerationLimits.defaults());
        Thread loader = new Thread(registry::loadAll, "test-model-loader");
        loader.start();
        try {
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
                assertThat(registry.pipeline("never-configured")).isEmpty();
                assertThat(registry.pipeline("a")).isPresent();
            });
            assertThat(registry.ready()).as("z still loading").isFalse();
            assertThat(registry.loadedNow()).containsOnlyKeys("a");
        } finally {
            java.nio.file.Files.writeString(index, "not json"); // lets z's load read, and fail
            loader.join(60_000);
        }
        assertThat(registry.pipeline("z")).isEmpty();
        assertThat(registry.failure("z")).hasValueSatisfying(why -> assertThat(why).contains("model_index.json"));
        registry.loadedNow().values().forEach(p -> p.model().close());
    }
}
