package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code easel.loras.dir} and {@code easel.models.<name>.loras.<lora>} read by SmallRye Config directly. */
class LorasConfigTest {

    private static SmallRyeConfig read(Map<String, String> properties) {
        return new SmallRyeConfigBuilder()
                .withMapping(LorasConfig.class)
                .withMapping(ModelsConfig.class)
                .withSources(new MapBackedConfigSource("test", properties) {
                })
                .build();
    }

    @Test
    void noAdapterDirectoryAndNoVariantLorasByDefault() {
        SmallRyeConfig config = read(Map.of("easel.models.sd15.path", "/models/sd15"));
        assertThat(config.getConfigMapping(LorasConfig.class).dir()).isEmpty();
        assertThat(config.getConfigMapping(ModelsConfig.class).models().get("sd15").loras()).isEmpty();
    }

    @Test
    void aVariantsLorasAreNamesWithScales() {
        SmallRyeConfig config = read(Map.of("easel.loras.dir", "/models/loras",
                "easel.models.sd15.path", "/models/sd15",
                "easel.models.sd15-film.base", "sd15",
                "easel.models.sd15-film.loras.film-grain", "0.8",
                "easel.models.sd15-film.loras.anime", "-0.3"));
        assertThat(config.getConfigMapping(LorasConfig.class).dir()).contains(Path.of("/models/loras"));
        assertThat(config.getConfigMapping(ModelsConfig.class).models().get("sd15-film").loras())
                .isEqualTo(Map.of("film-grain", 0.8, "anime", -0.3));
    }
}
