package dev.easel.notify;

import dev.easel.config.WebhookConfig;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * The checked values {@link WebhookSender} is built from: {@link #from(WebhookConfig)} in the
 * application, the canonical constructor in plain unit tests. See {@link WebhookConfig} for what
 * each value means.
 *
 * @param signingSecret {@code whsec_} + base64 of 24 to 64 bytes (the Standard Webhooks range)
 */
public record WebhookSettings(
        String signingSecret,
        Duration attemptTimeout,
        int maxAttempts,
        Duration maxTotalDuration,
        Duration initialBackoff,
        Duration maxBackoff,
        List<Cidr> allowedCidrs,
        String userAgent) {

    private static final String SECRET_PREFIX = "whsec_";

    /** @throws IllegalArgumentException naming the {@code easel.webhooks} key and the problem */
    public WebhookSettings {
        checkSecret(signingSecret);
        requirePositive("attempt-timeout", attemptTimeout);
        requirePositive("max-total-duration", maxTotalDuration);
        requirePositive("initial-backoff", initialBackoff);
        requirePositive("max-backoff", maxBackoff);
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("easel.webhooks.max-attempts must be at least 1, got " + maxAttempts);
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("easel.webhooks.max-backoff (" + maxBackoff
                    + ") must not be less than initial-backoff (" + initialBackoff + ")");
        }
        allowedCidrs = List.copyOf(allowedCidrs);
        // Printable ASCII only: HttpClient rejects control characters, and they could split headers.
        if (Objects.requireNonNull(userAgent, "userAgent").isBlank() || !userAgent.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("easel.webhooks.user-agent must be non-blank printable ASCII");
        }
    }

    /** Checks and converts the application's configuration. */
    public static WebhookSettings from(WebhookConfig config) {
        List<Cidr> cidrs = config.allowedCidrs().orElse(List.of()).stream()
                .map(text -> {
                    try {
                        return Cidr.parse(text);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("easel.webhooks.allowed-cidrs: " + e.getMessage(), e);
                    }
                })
                .toList();
        return new WebhookSettings(config.signingSecret(), config.attemptTimeout(), config.maxAttempts(),
                config.maxTotalDuration(), config.initialBackoff(), config.maxBackoff(), cidrs, config.userAgent());
    }

    /** Keeps the secret out of logs and exception messages. */
    @Override
    public String toString() {
        return "WebhookSettings[signingSecret=whsec_***, attemptTimeout=" + attemptTimeout + ", maxAttempts=" + maxAttempts
                + ", maxTotalDuration=" + maxTotalDuration + ", initialBackoff=" + initialBackoff + ", maxBackoff="
                + maxBackoff + ", allowedCidrs=" + allowedCidrs + ", userAgent=" + userAgent + "]";
    }

    private static void checkSecret(String secret) {
        checkSecret("easel.webhooks.signing-secret", secret);
    }

    /** @throws IllegalArgumentException naming {@code property} when the secret is not a Standard Webhooks one */
    static void checkSecret(String property, String secret) {
        String problem = property + " must be " + SECRET_PREFIX + " followed by the base64 of 24 to 64 random bytes";
        if (secret == null || !secret.startsWith(SECRET_PREFIX)) {
            throw new IllegalArgumentException(problem);
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(secret.substring(SECRET_PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(problem + " (not valid base64)");
        }
        if (key.length < 24 || key.length > 64) {
            throw new IllegalArgumentException(problem + " (got " + key.length + " bytes)");
        }
    }

    private static void requirePositive(String key, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException("easel.webhooks." + key + " must be positive, got " + value);
        }
    }
}
