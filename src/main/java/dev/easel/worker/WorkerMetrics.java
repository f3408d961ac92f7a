package dev.easel.worker;

import dev.easel.notify.WebhookOutcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the worker counts and times, for {@code /q/metrics} (names and labels in
 * docs/observability.md). {@link JobProcessor} calls it where a job's outcome is decided; it keeps
 * no per-job state.
 */
@Startup // the gauges are there from the first scrape, not from the first job
@Singleton
public class WorkerMetrics {

    /** How a job record ended; the {@code outcome} label of {@code easel_jobs_total}. */
    public enum Outcome {
        /** Generated and stored. */
        COMPLETED,
        /**
         * Already answered (a redelivery): its completion, failure or cancellation was published
         * again; nothing ran. Or it ran beside another run of it (two workers after a rebalance)
         * that stored its result first, whose completion it published again (its stages are timed).
         */
        DUPLICATE,
        /** A failed event: the job's retries ran out, storage refused it, its deadline passed or it broke the worker. */
        FAILED,
        /** An invalid job (or one for a model this worker does not serve): a failed event and a dead letter. */
        REJECTED,
        /** Cancelled by its submitter: a cancelled event. */
        CANCELLED,
        /** A record that is no job (unreadable): its dead letter only. */
        DEAD_LETTERED,
        /** No answer (a pushed job whose retries ran out, a shutdown): not committed, it comes again. */
        UNANSWERED,
        /** Cut off by a shutdown past its grace period: nothing published, not committed; it runs again elsewhere. */
        ABANDONED;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Histogram buckets for job stages, in seconds: stages of the tiny test models take
     * milliseconds, a real model's denoise on a CPU minutes, and a job may wait in the queue long.
     */
    static final Duration[] STAGE_BUCKETS = seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
            120, 300, 600);

    private final MeterRegistry registry;
    private final AtomicInteger inFlight = new AtomicInteger();

    @Inject
    WorkerMetrics(MeterRegistry registry, ModelRegistry models) {
        this(registry);
        for (String model : models.statuses().keySet()) {
            Gauge.builder("easel.model.ready", models,
                            m -> m.statuses().get(model).state() == ModelRegistry.Status.State.LOADED ? 1 : 0)
                    .strongReference(true)
                    .description("1 once the model has loaded, 0 while it loads or when it failed to load")
                    .tag("model", model)
                    .register(registry);
            Gauge.builder("easel.model.load", models, m -> m.statuses().get(model).loadTime().map(WorkerMetrics::toSeconds)
                            .orElse(Double.NaN))
                    .strongReference(true)
                    .description("How long loading the model took (or took to fail)")
                    .tag("model", model)
                    .baseUnit("seconds")
                    .register(registry);
        }
    }

    /** Without model gauges: for tests of the code that records. */
    WorkerMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("easel.jobs.in.flight", inFlight, AtomicInteger::get)
                .description("Job records (and pushed jobs) being processed now")
                .register(registry);
    }

    /** A job record starts processing; close what this returns when it is done, however it ends. */
    Running started() {
        inFlight.incrementAndGet();
        return inFlight::decrementAndGet;
    }

    /** One job's work counted under its {@code outcome}. */
    void job(Outcome outcome) {
        Counter.builder("easel.jobs")
                .description("Job records processed, by how they ended")
                .tag("outcome", outcome.label())
                .register(registry)
                .increment();
    }

    /**
     * A completed job's stage timings, as in its completed event's {@code timingsMs} ({@code queue},
     * {@code load}, {@code textEncode}, {@code denoise}, {@code decode}, {@code encode},
     * {@code upload}, {@code total}).
     */
    void stages(String model, Map<String, Long> timingsMs) {
        timingsMs.forEach((stage, ms) -> Timer.builder("easel.job.stage")
                .description("Time a completed job spent in each stage")
                .tags("stage", stage, "model", model)
                .serviceLevelObjectives(STAGE_BUCKETS)
                .register(registry)
                .record(Duration.ofMillis(ms)));
    }

    /** A dead letter the broker did not take within the job's retry budget; logged, and the record committed. */
    void deadLetterLost() {
        Counter.builder("easel.dead.letters.lost")
                .description("Dead letters not published within the retry budget, or whose send broke (logged; the record was committed)")
                .register(registry)
                .increment();
    }

    /** One webhook delivery's attempts: each failed but the last when delivered, all when not. */
    void webhook(WebhookOutcome outcome) {
        int delivered = outcome.delivered() ? 1 : 0;
        attempts("delivered").increment(delivered);
        attempts("failed").increment(Math.max(0, outcome.attempts() - delivered));
        Counter.builder("easel.webhook.deliveries")
                .description("Webhook deliveries (all attempts for one event), by how they ended")
                .tag("result", outcome.result().name().toLowerCase(Locale.ROOT))
                .register(registry)
                .increment();
    }

    private Counter attempts(String outcome) {
        return Counter.builder("easel.webhook.attempts")
                .description("Webhook HTTP attempts, by whether the receiver took the event")
                .tag("outcome", outcome)
                .register(registry);
    }

    private static double toSeconds(Duration duration) {
        return duration.toNanos() / 1e9;
    }

    private static Duration[] seconds(double... values) {
        Duration[] durations = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            durations[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
        }
        return durations;
    }

    /** Marks the end of one job record's processing. */
    @FunctionalInterface
    interface Running extends AutoCloseable {
        @Override
        void close();
    }
}
