package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.notify.WebhookOutcome;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The names, labels and types that docs/observability.md promises, as Prometheus scrapes them. */
class WorkerMetricsTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final WorkerMetrics metrics = new WorkerMetrics(registry);

    @Test
    void jobsAreCountedByOutcome() {
        metrics.job(WorkerMetrics.Outcome.COMPLETED);
        metrics.job(WorkerMetrics.Outcome.COMPLETED);
        metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);

        String text = registry.scrape();

        assertThat(text).contains("# TYPE easel_jobs_total counter", "easel_jobs_total{outcome=\"completed\"} 2.0",
                "easel_jobs_total{outcome=\"dead_lettered\"} 1.0");
    }

    @Test
    void stagesAreHistogramsWithFixedBucketsPerModel() {
        Map<String, Long> timings = new LinkedHashMap<>();
        timings.put("denoise", 1200L);
        timings.put("total", 1500L);

        metrics.stages("sd15", timings);

        String text = registry.scrape();
        assertThat(text).contains("# TYPE easel_job_stage_seconds histogram",
                "easel_job_stage_seconds_bucket{model=\"sd15\",stage=\"denoise\",le=\"1.0\"} 0",
                "easel_job_stage_seconds_bucket{model=\"sd15\",stage=\"denoise\",le=\"2.5\"} 1",
                "easel_job_stage_seconds_bucket{model=\"sd15\",stage=\"denoise\",le=\"600.0\"} 1",
                "easel_job_stage_seconds_count{model=\"sd15\",stage=\"total\"} 1",
                "easel_job_stage_seconds_sum{model=\"sd15\",stage=\"total\"} 1.5");
    }

    @Test
    void inFlightRisesWhileAJobRuns() {
        double during;
        try (WorkerMetrics.Running running = metrics.started()) {
            during = registry.get("easel.jobs.in.flight").gauge().value();
        }

        assertThat(during).isEqualTo(1.0);
        assertThat(registry.get("easel.jobs.in.flight").gauge().value()).isZero();
        assertThat(registry.scrape()).contains("easel_jobs_in_flight 0.0");
    }

    @Test
    void webhookAttemptsAreSplitIntoTheDeliveredOneAndTheFailedOnes() {
        metrics.webhook(outcome(WebhookOutcome.Result.DELIVERED, 3));
        metrics.webhook(outcome(WebhookOutcome.Result.EXHAUSTED, 4));
        metrics.webhook(outcome(WebhookOutcome.Result.TARGET_REFUSED, 0));

        String text = registry.scrape();

        assertThat(text).contains("easel_webhook_attempts_total{outcome=\"delivered\"} 1.0",
                "easel_webhook_attempts_total{outcome=\"failed\"} 6.0",
                "easel_webhook_deliveries_total{result=\"delivered\"} 1.0",
                "easel_webhook_deliveries_total{result=\"exhausted\"} 1.0",
                "easel_webhook_deliveries_total{result=\"target_refused\"} 1.0");
    }

    @Test
    void modelGaugesFollowTheRegistry() {
        PrometheusMeterRegistry withModel = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ModelRegistry models = new ModelRegistry(Map.of("sd15", Path.of("no-such-bundle")), Map.of(), EngineOptions.cpu(),
                GenerationLimits.defaults());
        new WorkerMetrics(withModel, models);

        String loading = withModel.scrape();
        models.loadAll();
        String failed = withModel.scrape();

        assertThat(loading).contains("easel_model_ready{model=\"sd15\"} 0.0", "easel_model_load_seconds{model=\"sd15\"} NaN");
        assertThat(failed).contains("easel_model_ready{model=\"sd15\"} 0.0")
                .containsPattern("easel_model_load_seconds\\{model=\"sd15\"} \\d");
    }

    private static WebhookOutcome outcome(WebhookOutcome.Result result, int attempts) {
        return new WebhookOutcome(result, attempts, OptionalInt.empty(), Optional.empty(), Duration.ZERO);
    }
}
