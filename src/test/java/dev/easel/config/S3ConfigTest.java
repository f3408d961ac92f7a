package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testing.S3Configs;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mapping's keys and defaults, and the environment variables the local stack prints. */
class S3ConfigTest {

    @Test
    void defaults() {
        S3Config config = S3Configs.load(Map.of());

        assertThat(config.endpoint()).isEmpty();
        assertThat(config.region()).isEqualTo("us-east-1");
        assertThat(config.accessKey()).isEmpty();
        assertThat(config.secretKey()).isEmpty();
        assertThat(config.pathStyle()).isTrue();
        assertThat(config.bucket()).isEqualTo("easel-images");
        assertThat(config.createBucket()).isFalse();
        assertThat(config.presignTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(config.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.attemptTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.callTimeout()).isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void everyKeyCanBeSet() {
        Map<String, String> properties = new HashMap<>();
        properties.put("easel.s3.endpoint", "https://minio.internal:9000");
        properties.put("easel.s3.region", "eu-west-1");
        properties.put("easel.s3.access-key", "AKIAEXAMPLE");
        properties.put("easel.s3.secret-key", "secret");
        properties.put("easel.s3.path-style", "false");
        properties.put("easel.s3.bucket", "acme-images");
        properties.put("easel.s3.create-bucket", "true");
        properties.put("easel.s3.presign-ttl", "15m");
        properties.put("easel.s3.connect-timeout", "500ms");
        properties.put("easel.s3.attempt-timeout", "PT10S");
        properties.put("easel.s3.call-timeout", "1m");

        S3Config config = S3Configs.load(properties);

        assertThat(config.endpoint()).contains(URI.create("https://minio.internal:9000"));
        assertThat(config.region()).isEqualTo("eu-west-1");
        assertThat(config.accessKey()).contains("AKIAEXAMPLE");
        assertThat(config.secretKey()).contains("secret");
        assertThat(config.pathStyle()).isFalse();
        assertThat(config.bucket()).isEqualTo("acme-images");
        assertThat(config.createBucket()).isTrue();
        assertThat(config.presignTtl()).isEqualTo(Duration.ofMinutes(15));
        assertThat(config.connectTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(config.attemptTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.callTimeout()).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void theLocalStacksEnvironmentVariablesMapToTheKeys() {
        // Exactly the names LocalStack.workerEnvironment() prints, overriding properties as in Quarkus.
        S3Config config = S3Configs.load(Map.of("easel.s3.region", "eu-west-1"), Map.of(
                "EASEL_S3_ENDPOINT", "http://127.0.0.1:34797",
                "EASEL_S3_ACCESS_KEY", "easel-dev",
                "EASEL_S3_SECRET_KEY", "easel-dev-secret",
                "EASEL_S3_REGION", "us-east-1",
                "EASEL_S3_CREATE_BUCKET", "true"));

        assertThat(config.endpoint()).contains(URI.create("http://127.0.0.1:34797"));
        assertThat(config.accessKey()).contains("easel-dev");
        assertThat(config.secretKey()).contains("easel-dev-secret");
        assertThat(config.region()).isEqualTo("us-east-1");
        assertThat(config.createBucket()).isTrue();
    }
}
