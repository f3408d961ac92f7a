package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Webhook delivery settings, keys under {@code easel.webhooks.*} (environment variables
 * {@code EASEL_WEBHOOKS_*}). Durations take Quarkus' forms: {@code 10s}, {@code 500ms},
 * {@code PT2M}. {@code dev.easel.notify.WebhookSettings#from} checks the values and turns them
 * into the plain record that the sender is built from.
 */
@ConfigMapping(prefix = "easel.webhooks")
public interface WebhookConfig {

    /**
     * {@code easel.webhooks.signing-secret}: the Standard Webhooks secret, {@code whsec_} followed
     * by the base64 of 24 to 64 random bytes. Required, no default, so webhooks are never sent
     * unsigned: Quarkus reports it missing once a bean that needs the sender is wired.
     */
    String signingSecret();

    /**
     * {@code easel.webhooks.attempt-timeout}: the most one delivery attempt may take, from
     * connecting to the end of the response; also the connect timeout. Default 10s.
     */
    @WithDefault("10s")
    Duration attemptTimeout();

    /** {@code easel.webhooks.max-attempts}: attempts per event, the first included. Default 6. */
    @WithDefault("6")
    int maxAttempts();

    /**
     * {@code easel.webhooks.max-total-duration}: the time budget for one event, attempts and
     * backoff waits together; no attempt starts (or outlives it) after it is spent. Default 2m.
     */
    @WithDefault("2m")
    Duration maxTotalDuration();

    /**
     * {@code easel.webhooks.initial-backoff}: the cap of the first retry's random wait; each
     * further retry doubles the cap up to {@code max-backoff} (full jitter). Default 1s.
     */
    @WithDefault("1s")
    Duration initialBackoff();

    /**
     * {@code easel.webhooks.max-backoff}: the largest wait between two attempts, for both the
     * exponential backoff and a receiver's {@code Retry-After}. Default 30s.
     */
    @WithDefault("30s")
    Duration maxBackoff();

    /**
     * {@code easel.webhooks.allowed-cidrs}: comma-separated CIDRs (for example
     * {@code 10.20.0.0/16,fd12::/64}) that webhook targets may resolve to even though they are
     * private, loopback, link-local or otherwise internal. Default: none, so only public
     * addresses are called.
     */
    Optional<List<String>> allowedCidrs();

    /** {@code easel.webhooks.user-agent}: the {@code User-Agent} header sent. Default {@code Easel-Webhooks/1}. */
    @WithDefault("Easel-Webhooks/1")
    String userAgent();
}
