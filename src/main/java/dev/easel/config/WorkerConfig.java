package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code easel.worker.*}: how the worker consumes and answers jobs (environment variables {@code EASEL_WORKER_*}). */
@ConfigMapping(prefix = "easel.worker")
public interface WorkerConfig {

    /**
     * {@code easel.worker.concurrency}: jobs run at once by this worker. application.properties
     * gives it to the {@code easel-jobs} worker pool ({@code smallrye.messaging.worker.easel-jobs.max-concurrency}).
     * Default 1: one job owns the GPU, and a second would only share it.
     */
    @WithDefault("1")
    int concurrency();

    /**
     * {@code easel.worker.publish-timeout}: how long to wait for the broker to acknowledge a job's
     * event or dead letter before the job's record is given up as not answered (and not
     * committed, so it is delivered again). Default 30s.
     */
    @WithDefault("30s")
    Duration publishTimeout();

    /**
     * {@code easel.worker.shutdown-grace}: on shutdown (SIGTERM), how long the jobs already running
     * may take to finish; the worker takes no new job meanwhile. A job still running then is cut
     * off between two denoising steps, left unanswered and uncommitted, and runs again on another
     * worker. Kubernetes' {@code terminationGracePeriodSeconds} must exceed it (deployment/README.md,
     * "Shutdown"). Default 60s.
     */
    @WithDefault("60s")
    Duration shutdownGrace();

    /**
     * {@code easel.worker.running-status-delay}: how long a job runs before the worker writes its
     * {@code running} status ({@code status.json}, what {@code GET /v1/jobs/{id}} reports until
     * the result is stored). A job over sooner never writes one: it goes from queued to completed
     * (or failed) and saves the store a request. {@code 0s} writes it as the job starts. Default 250ms.
     */
    @WithDefault("250ms")
    Duration runningStatusDelay();
}
