package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** {@code easel.events.*}: how Easel publishes job CloudEvents (docs/events.md). */
@ConfigMapping(prefix = "easel.events")
public interface EventsConfig {

    /**
     * {@code easel.events.instance}: this worker's name in the events' {@code source}
     * ({@code /easel/worker/{instance}}). Defaults to {@code HOSTNAME}, the pod name on Kubernetes.
     */
    @WithDefault("${HOSTNAME:local}")
    String instance();

    /**
     * {@code easel.events.progress-per-second}: most {@code dev.easel.job.progress} events per job
     * and second (at least 1); the last step is always sent. Progress is cosmetic, and a fast
     * scheduler step would otherwise flood the topic.
     */
    @WithDefault("2")
    int progressPerSecond();

    /**
     * {@code easel.events.cloud-events-mode}: {@code binary} (the default: {@code ce_*} headers,
     * the value is the event's {@code data}) or {@code structured} (the value is the whole event
     * as JSON, {@code content-type: application/cloudevents+json}). docs/events.md.
     */
    @WithDefault("binary")
    CloudEventsMode cloudEventsMode();

    /** How events are laid out in Kafka records (CloudEvents' Kafka protocol binding). */
    enum CloudEventsMode { BINARY, STRUCTURED }
}
