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
}
