package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.config.ModelsConfig;
import dev.easel.engine.pipeline.ModelDefaults;
import java.util.Optional;
import org.junit.jupiter.api.Test;

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
}
