package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/**
 * {@code easel.sse.*}: the job event streams of the HTTP API ({@code GET /v1/jobs/{id}/events},
 * docs/events.md), fed by a reader of the events topic in every process that has them on.
 */
@ConfigMapping(prefix = "easel.sse")
public interface SseConfig {

    /**
     * {@code easel.sse.enabled}: whether this process serves event streams. Each such process reads
     * the whole events topic (one Kafka consumer, no group); turn it off on workers that serve no
     * HTTP clients. Off, the endpoint answers 503; with security on the topic is still read, to free
     * the fair-use places of the jobs submitted here when they are answered. Default true.
     */
    @WithDefault("true")
    boolean enabled();

    /**
     * {@code easel.sse.heartbeat}: how often an idle stream gets a comment line, so proxies and load
     * balancers do not close it for inactivity. Default 15s.
     */
    @WithDefault("15s")
    Duration heartbeat();

    /**
     * {@code easel.sse.subscriber-buffer}: events held for one stream whose client reads slower than
     * they come; past it the stream is ended with a {@code closed} event (reconnect for the current
     * state). Default 256.
     */
    @WithDefault("256")
    int subscriberBuffer();

    /**
     * {@code easel.sse.max-streams-per-tenant}: event streams one tenant may hold open in this
     * process at once; past it a new one is refused with 429 until one ends. Each stream holds a
     * connection, a buffer and a heartbeat: without a bound one tenant could take them all.
     * Default 100.
     */
    @WithDefault("100")
    int maxStreamsPerTenant();
}
