package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * {@code easel.topics.*}: the Kafka topics Easel reads and writes (environment variables
 * {@code EASEL_TOPICS_*}). application.properties binds each channel's {@code topic} to these
 * keys with the same defaults, so one setting moves both the connector and the code that names the
 * topic; docs/events.md lists them.
 */
@ConfigMapping(prefix = "easel.topics")
public interface TopicsConfig {

    /** {@code easel.topics.jobs}: where apps put jobs (channel {@code jobs}). */
    @WithDefault("easel.jobs")
    String jobs();

    /** {@code easel.topics.events}: where Easel publishes job CloudEvents (channel {@code events}). */
    @WithDefault("easel.events")
    String events();

    /** {@code easel.topics.dead-letters}: where unreadable job records go (channel {@code dead-letters}). */
    @WithDefault("easel.jobs.dlq")
    String deadLetters();

    /**
     * {@code easel.topics.control}: cancellations of jobs ({@code DELETE /v1/jobs/{id}}), keyed by job
     * id, which every worker reads from the beginning (dev.easel.worker.CancellationFeed). Meant to
     * be compacted, with a retention of at least 7 days (docs/events.md, "Cancellations").
     */
    @WithDefault("easel.jobs.control")
    String control();
}
