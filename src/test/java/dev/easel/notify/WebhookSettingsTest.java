package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WebhookSettingsTest {

    private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(new byte[32]);

    private static WebhookSettings withSecret(String secret) {
        return new WebhookSettings(secret, Duration.ofSeconds(10), 6, Duration.ofMinutes(2), Duration.ofSeconds(1),
                Duration.ofSeconds(30), List.of(), "Easel-Webhooks/1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "c2VjcmV0", "whsec_", "whsec_not*base64", "whsec_c2hvcnQ="})
    void rejectsSecretsThatAreNotWhsecBase64Of24To64Bytes(String secret) {
        assertThatThrownBy(() -> withSecret(secret))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("easel.webhooks.signing-secret must be whsec_");
    }

    @Test
    void rejectsATooLongSecret() {
        assertThatThrownBy(() -> withSecret("whsec_" + Base64.getEncoder().encodeToString(new byte[65])))
                .hasMessageContaining("(got 65 bytes)");
    }

    @Test
    void keepsTheSecretOutOfToString() {
        assertThat(withSecret(SECRET).toString()).doesNotContain(SECRET.substring(6)).contains("whsec_***");
    }

    @Test
    void rejectsNonsensicalBudgets() {
        assertThatThrownBy(() -> new WebhookSettings(SECRET, Duration.ofSeconds(10), 0, Duration.ofMinutes(2),
                Duration.ofSeconds(1), Duration.ofSeconds(30), List.of(), "ua"))
                .hasMessage("easel.webhooks.max-attempts must be at least 1, got 0");
        assertThatThrownBy(() -> new WebhookSettings(SECRET, Duration.ZERO, 3, Duration.ofMinutes(2),
                Duration.ofSeconds(1), Duration.ofSeconds(30), List.of(), "ua"))
                .hasMessage("easel.webhooks.attempt-timeout must be positive, got PT0S");
        assertThatThrownBy(() -> new WebhookSettings(SECRET, Duration.ofSeconds(10), 3, Duration.ofMinutes(2),
                Duration.ofSeconds(10), Duration.ofSeconds(1), List.of(), "ua"))
                .hasMessageStartingWith("easel.webhooks.max-backoff (PT1S) must not be less than initial-backoff");
        assertThatThrownBy(() -> new WebhookSettings(SECRET, Duration.ofSeconds(10), 3, Duration.ofMinutes(2),
                Duration.ofSeconds(1), Duration.ofSeconds(30), List.of(), "bad\r\nX-Injected: 1"))
                .hasMessageStartingWith("easel.webhooks.user-agent");
    }
}
