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
     * Default {@code easel.worker.batch.max-jobs} (1, batching off): one job at a time; with
     * batching on, enough jobs at once to fill a UNet batch ({@link Batch}). Set it
     * above max-jobs to keep batches full while some jobs encode text or decode images.
     */
    @WithDefault("${easel.worker.batch.max-jobs:1}")
    int concurrency();

    /**
     * {@code easel.worker.warm-up}: after a model loads, run it once (one step at the size and
     * guidance its jobs get by default, {@code easel.models.<name>.defaults.*} included; the result
     * thrown away) before it counts as loaded, so the first job does not pay ONNX
     * Runtime's first-run costs (memory arenas, kernel choice) and the pipeline's cold code
     * (docs/benchmarks.md, "Scale from zero"). Readiness waits for it. Default false: on the demo
     * model on CPU it took 80 ms off the first job and added 300 ms to the start; GPU sessions,
     * whose first run chooses kernels, are where it should pay (not measured here).
     */
    @WithDefault("false")
    boolean warmUp();

    /** {@code easel.worker.batch.*}: jobs that run at once share UNet runs (docs/benchmarks.md, "Batching"). */
    Batch batch();

    /** {@code easel.worker.previews.*}: what the worker grants jobs that ask for {@code previews} (docs/events.md, "Previews"). */
    Previews previews();

    /** Caps on jobs' preview pictures; a job without {@code previews} gets none whatever these say. */
    interface Previews {

        /** {@code easel.worker.previews.enabled}: false ignores every job's {@code previews}. Default true. */
        @WithDefault("true")
        boolean enabled();

        /**
         * {@code easel.worker.previews.min-every}: the fewest steps between two previews; a job asking
         * for more often gets this. A {@code decode} preview costs a VAE decode. Default 2.
         */
        @WithDefault("2")
        int minEvery();

        /** {@code easel.worker.previews.max-side}: the longest side of a preview in pixels (8..1024). Default 128. */
        @WithDefault("128")
        int maxSide();

        /** {@code easel.worker.previews.max-bytes}: a preview PNG bigger than this is dropped. Default 65536. */
        @WithDefault("65536")
        int maxBytes();
    }

    /** {@code easel.worker.rewrites.*}: models rewritten for jobs' {@code rewrite} (docs/rewriting.md). */
    Rewrites rewrites();

    /** The cache of rewritten models. */
    interface Rewrites {

        /**
         * {@code easel.worker.rewrites.max-cached}: how many rewritten models are kept, least
         * recently used out first; each holds a second copy of its model's UNet weights. 0: each
         * job with a rewrite builds its own and closes it after. Default 4.
         */
        @io.smallrye.config.WithDefault("4")
        int maxCached();
    }

    /**
     * Continuous batching: the jobs of one model and size that denoise at the same time run their
     * UNet steps as one batch, joining and leaving it at step boundaries, each with its own
     * scheduler, seed, guidance and step count; each job's pictures stay its unbatched pictures
     * (to float rounding). Jobs of other sizes, text lengths or models batch among themselves.
     */
    interface Batch {

        /**
         * {@code easel.worker.batch.max-jobs}: the most jobs in one UNet run; 1 turns batching off
         * (each job runs its own UNet, as before). Default 1: on the 2-core CPU measured, batching
         * gave 0.79–1.17× jobs/s (docs/benchmarks.md, "Batching"), not worth four jobs' memory;
         * GPU nodes, where one run of a bigger batch costs little more, should measure 4–8.
         */
        @WithDefault("1")
        int maxJobs();

        /**
         * {@code easel.worker.batch.max-wait}: how long a step waits for other jobs' steps to join
         * its batch. A batch starts before that when it is full or when every job of its kind is
         * waiting already, so a job alone never waits. Default 5ms.
         */
        @WithDefault("5ms")
        Duration maxWait();
    }

    /**
     * {@code easel.worker.publish-timeout}: the producer's {@code delivery.timeout.ms}: how long one
     * try at publishing a record (an event, a dead letter, a job submitted over HTTP) may take before
     * the producer gives up on it. The worker tries an answer again after it; the HTTP API answers 503
     * (the job was not queued). Default 30s.
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

    /**
     * {@code easel.worker.retry-budget}: how long a job may wait out transient faults of storage
     * (and, in push mode, of the broker) before it is answered {@code failed} with
     * {@code retryable: true} and dead-lettered. Meanwhile the job's thread retries with backoff
     * and jitter and its record stays uncommitted, so consumption pauses rather than failing jobs
     * through an outage. An answer the broker will not take is retried until it does, however
     * long: without the broker there is no answer to give. Counted from the job's start, and for
     * a pulled job again once its images are made, so a long generation leaves its uploads a whole
     * budget. Default 10m.
     */
    @WithDefault("10m")
    Duration retryBudget();

    /** {@code easel.worker.retry-initial-backoff}: the first wait after a transient fault. Default 200ms. */
    @WithDefault("200ms")
    Duration retryInitialBackoff();

    /** {@code easel.worker.retry-max-backoff}: the longest wait between two tries. Default 10s. */
    @WithDefault("10s")
    Duration retryMaxBackoff();

    /**
     * {@code easel.worker.dead-letter-max-bytes}: the largest dead-letter record (value and
     * headers) the worker sends. A bigger original is kept whole in the object store
     * ({@code ~dead-letters/} in the default bucket) and the record carries a bounded prefix and a
     * reference, so no record is too large for the producer (1 MiB by default). Default 900000.
     */
    @WithDefault("900000")
    int deadLetterMaxBytes();

    /**
     * {@code easel.worker.cancellations-enabled}: whether this process reads the control topic
     * ({@code easel.topics.control}) for the cancellations of jobs ({@code DELETE /v1/jobs/{id}},
     * docs/events.md "Cancellations"). Off, jobs run to their end whatever their submitters ask, and
     * the {@code cancellations} readiness check is UP at once. Default true.
     */
    @WithDefault("true")
    boolean cancellationsEnabled();
}
