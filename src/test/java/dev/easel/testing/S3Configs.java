package dev.easel.testing;

import dev.easel.config.S3Config;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;

/** {@link S3Config} read by SmallRye Config alone (no Quarkus boot), as Quarkus would read it. */
public final class S3Configs {

    private S3Configs() {
    }

    /**
     * @param properties {@code easel.s3.*} keys
     * @param environment environment variables ({@code EASEL_S3_*}), which win over properties as in Quarkus
     */
    public static S3Config load(Map<String, String> properties, Map<String, String> environment) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(S3Config.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // Quarkus' "10s" form
                .withSources(new PropertiesConfigSource(properties, "test", 100))
                .withSources(new EnvConfigSource(environment, 300))
                .build();
        return config.getConfigMapping(S3Config.class);
    }

    public static S3Config load(Map<String, String> properties) {
        return load(properties, Map.of());
    }
}
