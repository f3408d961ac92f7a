package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.JobLimits;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mapping read by SmallRye Config directly, without booting Quarkus. */
class JobLimitsConfigTest {

    static JobLimitsConfig read(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(JobLimitsConfig.class)
                .withSources(new MapBackedConfigSource("test", properties) {
                })
                .build();
        return config.getConfigMapping(JobLimitsConfig.class);
    }

    @Test
    void defaultsAreJobLimitsDefaults() {
        assertThat(read(Map.of()).toJobLimits()).isEqualTo(JobLimits.defaults());
    }

    @Test
    void keysOverrideLimits() {
        JobLimits limits = read(Map.of(
                "easel.limits.max-width", "1024",
                "easel.limits.max-pixels", "262144",
                "easel.limits.max-guidance", "12.5",
                "easel.limits.max-input-image-bytes", "1000",
                "easel.limits.max-id-length", "64")).toJobLimits();
        assertThat(limits.maxWidth()).isEqualTo(1024);
        assertThat(limits.maxPixels()).isEqualTo(262144);
        assertThat(limits.maxGuidance()).isEqualTo(12.5);
        assertThat(limits.pngLimits().maxCompressedBytes()).isEqualTo(1000);
        assertThat(limits.maxIdLength()).isEqualTo(64);
        assertThat(limits.maxHeight()).isEqualTo(2048);
    }
}
