package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** {@code easel.log.*}: the worker's log format (environment variables {@code EASEL_LOG_*}); docs/observability.md. */
@ConfigMapping(prefix = "easel.log")
public interface LogConfig {

    /**
     * {@code easel.log.json}: console log lines as JSON objects, one a line, with the job's id and
     * model ({@code dev.easel.observe.JsonLogFormatter}) instead of Quarkus's text pattern. Default
     * false; application.properties turns it on in the prod profile (the packaged worker).
     */
    @WithDefault("false")
    boolean json();
}
