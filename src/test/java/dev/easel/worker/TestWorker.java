package dev.easel.worker;

import dev.easel.contract.JobLimits;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.messaging.AckingMessaging;
import dev.easel.notify.WebhookSender;
import dev.easel.notify.WebhookSettings;
import dev.easel.security.Tenants;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A {@link Jobs} over in-memory storage and messaging, for tests of the worker without servers.
 * Settings that a test changes are its fields; {@link #build()} wires them.
 */
final class TestWorker {

    static final String BUCKET = "images";

    final InMemoryObjectStore store = new InMemoryObjectStore();
    final AckingMessaging messaging = new AckingMessaging();
    final Cancellations cancellations = new Cancellations();
    final BrokerHealth broker = new BrokerHealth();
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Map<String, DiffusionPipeline> models;
    /** Models configured but failed to load: why, by name. */
    Map<String, String> failedModels = Map.of();
    /** The registry the last {@link #build()} made. */
    ModelRegistry registry;
    /** easel.worker.rewrites.max-cached. */
    int maxRewrites = ModelRegistry.DEFAULT_MAX_REWRITES;
    /** Where jobs' loras are found (LoraJobsTest). */
    LoraLibrary loras = LoraLibrary.none();
    Duration runningStatusDelay = Duration.ZERO;
    /** easel.worker.previews.*. */
    PreviewCaps previews = PreviewCaps.DEFAULT;
    Duration retryBudget = Duration.ofSeconds(2);
    Cancellation shutdown = () -> { };
    /** Delivers the jobs' webhooks (loopback refused, as in production, unless a test allows it). */
    WebhookSender webhookSender = webhooks();
    /** How the intake is made from the registry (a test may inject a faulty one). */
    java.util.function.BiFunction<ModelRegistry, JobLimits, JobIntake> intake =
            (registry, limits) -> new JobIntake(registry, limits, Clock.systemUTC());
    /** Security off: every record is the default tenant's, under default/ in the bucket. */
    Tenants tenants = new Tenants(false, Map.of(), BUCKET, "easel.jobs", java.util.Optional.empty());
    static final String PREFIX = BUCKET + "/" + Tenants.DEFAULT + "/";

    TestWorker(Map<String, DiffusionPipeline> models) {
        this.models = models;
    }

    Jobs build() {
        registry = ModelRegistry.of(models, failedModels);
        registry.rewrites(new RewrittenModels(maxRewrites, dev.easel.engine.pipeline.GenerationLimits.defaults(),
                dev.easel.engine.onnx.UnetBatcher.Settings.OFF));
        registry.useLoras(loras);
        JobLimits limits = JobLimits.defaults();
        return new Jobs(new Jobs.Wiring(intake.apply(registry, limits), tenants, limits, store, store,
                messaging.publisher(), messaging.deadLetters(store, BUCKET), webhookSender,
                new JobRunner.Settings(BUCKET, Duration.ofHours(1), runningStatusDelay, previews),
                new Retries.Policy(retryBudget, Duration.ofMillis(5), Duration.ofMillis(50), Duration.ofSeconds(5), broker),
                cancellations, shutdown, new WorkerMetrics(meters), Clock.systemUTC()));
    }

    static WebhookSender webhooks() {
        return webhooks(List.of());
    }

    /** A sender that may also reach {@code allowed} (e.g. a receiver on 127.0.0.1). */
    static WebhookSender webhooks(List<dev.easel.notify.Cidr> allowed) {
        return new WebhookSender(new WebhookSettings("whsec_dGVzdC1wcm9maWxlLW9ubHktbm90LWEtcmVhbC1zZWNyZXQ=",
                Duration.ofSeconds(1), 1, Duration.ofSeconds(2), Duration.ofMillis(10), Duration.ofMillis(10), allowed,
                "test"));
    }
}
