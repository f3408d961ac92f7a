package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.notify.Cidr;
import dev.easel.notify.WebhookSettings;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mapping's keys and defaults, read by SmallRye Config alone (no Quarkus boot). */
class WebhookConfigTest {

    private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(new byte[24]);

    private static WebhookConfig load(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(WebhookConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // Quarkus' "10s" form
                .withSources(new PropertiesConfigSource(properties, "test", 100))
                .build();
        return config.getConfigMapping(WebhookConfig.class);
    }

    @Test
    void defaults() {
        WebhookSettings settings = WebhookSettings.from(load(Map.of("easel.webhooks.signing-secret", SECRET)));

        assertThat(settings.signingSecret()).isEqualTo(SECRET);
        assertThat(settings.attemptTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.maxAttempts()).isEqualTo(6);
        assertThat(settings.maxTotalDuration()).isEqualTo(Duration.ofMinutes(2));
        assertThat(settings.initialBackoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(settings.maxBackoff()).isEqualTo(Duration.ofSeconds(30));
        assertThat(settings.allowedCidrs()).isEmpty();
        assertThat(settings.userAgent()).isEqualTo("Easel-Webhooks/1");
    }

    @Test
    void everyKeyCanBeSet() {
        Map<String, String> properties = new HashMap<>();
        properties.put("easel.webhooks.signing-secret", SECRET);
        properties.put("easel.webhooks.attempt-timeout", "500ms");
        properties.put("easel.webhooks.max-attempts", "3");
        properties.put("easel.webhooks.max-total-duration", "PT45S");
        properties.put("easel.webhooks.initial-backoff", "200ms");
        properties.put("easel.webhooks.max-backoff", "5s");
        properties.put("easel.webhooks.allowed-cidrs", "127.0.0.1/32,fd12::/64");
        properties.put("easel.webhooks.user-agent", "Acme/2");

        WebhookSettings settings = WebhookSettings.from(load(properties));

        assertThat(settings.attemptTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(settings.maxAttempts()).isEqualTo(3);
        assertThat(settings.maxTotalDuration()).isEqualTo(Duration.ofSeconds(45));
        assertThat(settings.initialBackoff()).isEqualTo(Duration.ofMillis(200));
        assertThat(settings.maxBackoff()).isEqualTo(Duration.ofSeconds(5));
        assertThat(settings.allowedCidrs()).containsExactly(Cidr.parse("127.0.0.1/32"), Cidr.parse("fd12::/64"));
        assertThat(settings.userAgent()).isEqualTo("Acme/2");
    }

    @Test
    void theSecretIsRequired() {
        assertThatThrownBy(() -> load(Map.of()))
                .hasMessageContaining("easel.webhooks.signing-secret");
    }

    @Test
    void aBadCidrNamesTheKey() {
        WebhookConfig config = load(Map.of("easel.webhooks.signing-secret", SECRET, "easel.webhooks.allowed-cidrs", "10.0.0.0/8,intranet"));

        assertThatThrownBy(() -> WebhookSettings.from(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("easel.webhooks.allowed-cidrs: not a CIDR")
                .hasMessageContaining("intranet");
    }
}
