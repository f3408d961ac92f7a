package dev.easel.worker;

import dev.easel.contract.JobStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import dev.easel.contract.JobLimits;
import dev.easel.messaging.AckingMessaging;
import dev.easel.contract.JobEvents;
import dev.easel.notify.WebhookSender;
import dev.easel.notify.WebhookSettings;
import dev.easel.observe.LogContext;
import dev.easel.testing.LogCapture;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JobProcessor's branches against an oracle model, an in-memory store and a broker that acks at once. */
class JobProcessorTest {

    private static final String BUCKET = "images";

    @TempDir
    static Path dir;
    private static StableDiffusionModel model;

    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final AckingMessaging messaging = new AckingMessaging();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final AtomicBoolean cutOff = new AtomicBoolean();
    private final Cancellation shutdown = () -> {
        if (cutOff.get()) {
            throw new JobAbandonedException("test worker shutting down");
        }
    };
    private JobProcessor processor;
    private LogCapture logs;

    @BeforeAll
    static void loadModel() throws Exception {
        Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
        model = StableDiffusionModel.load("oracle", bundle, EngineOptions.cpu().withIntraOpThreads(1));
    }

    @AfterAll
    static void closeModel() {
        model.close();
    }

    @AfterEach
    void stopCapture() {
        logs.close();
    }

    @BeforeEach
    void setUp() {
        logs = LogCapture.of("dev.easel.worker");
        ModelRegistry models = ModelRegistry.of(Map.of("oracle", new DiffusionPipeline(model, GenerationLimits.defaults())));
        processor = new JobProcessor(models, JobLimits.defaults(), store, store, messaging.publisher(),
                messaging.deadLetters(), webhooks(), settings(Duration.ZERO), Clock.systemUTC(),
                shutdown, new WorkerMetrics(meters));
    }

    @Test
    void validJobStoresImagesThenManifestAndCompletes() {
        processor.process(record("j1", job("j1", "oracle", 64)));

        assertThat(messaging.eventTypes()).startsWith(JobEvents.STARTED).contains(JobEvents.PROGRESS)
                .endsWith(JobEvents.COMPLETED);
        // The running status is written beside the image, so the two may land in either order; the manifest is last.
        assertThat(store.puts).hasSize(3).endsWith(BUCKET + "/j1/result.json")
                .contains(BUCKET + "/j1/status.json", BUCKET + "/j1/0.png");
        assertThat(json(BUCKET + "/j1/status.json").path("state").asText()).isEqualTo(JobStatus.RUNNING);
        assertThat(store.objects.get(BUCKET + "/j1/0.png").contentType()).isEqualTo("image/png");
        JsonNode completed = last().data();
        assertThat(completed.at("/images/0/objectKey").asText()).isEqualTo("j1/0.png");
        assertThat(completed.at("/images/0/seed").asLong()).isEqualTo(7);
        assertThat(completed.at("/images/0/url").asText()).contains("X-Amz-Signature");
        assertThat(completed.path("timingsMs").fieldNames()).toIterable()
                .contains("queue", "load", "textEncode", "denoise", "decode", "upload", "total");
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(meters.get("easel.job.stage").tags("stage", "denoise", "model", "oracle").timer().count()).isEqualTo(1);
        assertThat(meters.get("easel.jobs.in.flight").gauge().value()).isZero();
    }

    @Test
    void everyLineLoggedForAJobNamesItAndItsModelAndNoneAfter() {
        processor.process(record("j1", job("j1", "oracle", 64)));

        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("job j1 completed"))).singleElement()
                .satisfies(r -> assertThat(r.getMdcCopy()).containsEntry(LogContext.JOB_ID, "j1")
                        .containsEntry(LogContext.MODEL, "oracle"));
        assertThat(MDC.get(LogContext.JOB_ID)).isNull();
        assertThat(MDC.get(LogContext.MODEL)).isNull();
    }

    @Test
    void imagesAreUploadedTogetherAndTheManifestLast() {
        processor.processPushed(("{\"version\": 1, \"id\": \"j9\", \"model\": \"oracle\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 2, \"scheduler\": \"euler\", \"seed\": 7,"
                + " \"numImages\": 3}").getBytes(StandardCharsets.UTF_8), Optional.empty());

        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(store.puts).hasSize(5).endsWith(BUCKET + "/j9/result.json")
                .contains(BUCKET + "/j9/0.png", BUCKET + "/j9/1.png", BUCKET + "/j9/2.png");
        assertThat(last().data().path("images").findValuesAsText("objectKey"))
                .containsExactly("j9/0.png", "j9/1.png", "j9/2.png");
    }

    @Test
    void completedJobIsAnsweredFromItsManifest() {
        processor.process(record("j2", job("j2", "oracle", 64)));
        JsonNode first = last().data();
        store.puts.clear();

        processor.process(record("j2", job("j2", "oracle", 64)));

        assertThat(store.puts).isEmpty();
        assertThat(messaging.eventTypes()).filteredOn(JobEvents.STARTED::equals).hasSize(1);
        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(last().data().path("images")).isEqualTo(first.path("images"));
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);
    }

    @Test
    void invalidJobFailsWithViolationsAndIsDeadLettered() {
        processor.process(record("j3", job("j3", "oracle", 100)));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().subject()).isEqualTo("j3");
        assertThat(last().data().path("violations").findValuesAsText("field")).containsExactly("width");
        assertThat(messaging.deadLettersSent()).singleElement().satisfies(d -> assertThat(d.reason()).contains("width"));
        assertThat(store.puts).isEmpty();
        assertThat(jobs("dead_lettered")).isEqualTo(1);
        assertThat(jobs("failed")).isZero();
    }

    @Test
    void unreadableRecordIsOnlyDeadLettered() {
        processor.process(record("k", "[1, 2]".getBytes(StandardCharsets.UTF_8)));

        assertThat(messaging.eventTypes()).isEmpty();
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("not an object"));
        assertThat(jobs("dead_lettered")).isEqualTo(1);
        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("dead letter"))).singleElement()
                .satisfies(r -> assertThat(r.getMdcCopy()).containsEntry(LogContext.JOB_ID, "k"));
    }

    @Test
    void unknownModelFailsNamingTheModelsServed() {
        processor.process(record("j4", job("j4", "sd-9", 64)));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last().data();
        assertThat(failed.path("reason").asText()).contains("sd-9").contains("oracle");
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("model");
        assertThat(failed.path("retryable").asBoolean()).isFalse();
        assertThat(messaging.deadLettersSent()).isEmpty();
        JsonNode status = json(BUCKET + "/j4/status.json");
        assertThat(status.path("state").asText()).isEqualTo(JobStatus.FAILED);
        assertThat(status.path("reason").asText()).contains("sd-9");
        assertThat(status.at("/violations/0/field").asText()).isEqualTo("model");
        assertThat(jobs("failed")).isEqualTo(1);
    }

    @Test
    void pushedJobReturnsItsOutcome() {
        JobEvents.Data outcome = processor.processPushed(job("j7", "oracle", 64), Optional.empty());

        assertThat(outcome).isInstanceOf(JobEvents.Completed.class);
        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(store.puts).contains(BUCKET + "/j7/result.json");
    }

    @Test
    void pushedInvalidJobFailsWithoutADeadLetter() {
        JobEvents.Data outcome = processor.processPushed(job("j8", "oracle", 100), Optional.empty());

        assertThat(outcome).isInstanceOfSatisfying(JobEvents.Failed.class, f -> assertThat(f.retryable()).isFalse());
        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(jobs("failed")).isEqualTo(1);
    }

    @Test
    void aJobOverBeforeTheRunningStatusDelayWritesNoRunningStatus() {
        processor = new JobProcessor(ModelRegistry.of(Map.of("oracle", new DiffusionPipeline(model, GenerationLimits.defaults()))),
                JobLimits.defaults(), store, store, messaging.publisher(), messaging.deadLetters(), webhooks(),
                settings(Duration.ofHours(1)), Clock.systemUTC(), shutdown, new WorkerMetrics(meters));

        processor.process(record("j10", job("j10", "oracle", 64)));

        assertThat(messaging.eventTypes()).endsWith(JobEvents.COMPLETED);
        assertThat(store.puts).containsExactly(BUCKET + "/j10/0.png", BUCKET + "/j10/result.json");
    }

    @Test
    void storageFailureIsARetryableFailure() {
        store.failPuts();

        processor.process(record("j5", job("j5", "oracle", 64)));

        assertThat(messaging.eventTypes()).startsWith(JobEvents.STARTED).endsWith(JobEvents.FAILED);
        assertThat(last().data().path("retryable").asBoolean()).isTrue();
        assertThat(last().data().path("reason").asText()).contains("storage is down");
        assertThat(jobs("failed")).isEqualTo(1);
        // Logged on a store thread, not the job's: the job's context goes along.
        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("job j5: running status not stored")))
                .singleElement().satisfies(r -> {
                    assertThat(r.getThreadName()).isEqualTo("easel-store");
                    assertThat(r.getMdcCopy()).containsEntry(LogContext.JOB_ID, "j5").containsEntry(LogContext.MODEL, "oracle");
                });
    }

    @Test
    void unpublishableAnswerIsNotSwallowed() {
        messaging.refuse();

        assertThatThrownBy(() -> processor.process(record("j6", job("j6", "sd-9", 64))))
                .isInstanceOf(UnansweredJobException.class);
        assertThat(jobs("unanswered")).isEqualTo(1);
        assertThat(meters.get("easel.jobs.in.flight").gauge().value()).isZero();
    }

    private double jobs(String outcome) {
        Counter counter = meters.find("easel.jobs").tag("outcome", outcome).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void jobCutOffByShutdownIsLeftUnanswered() {
        cutOff.set(true);

        assertThatThrownBy(() -> processor.process(record("j10", job("j10", "oracle", 64))))
                .isInstanceOf(JobAbandonedException.class);

        // Started, then nothing: no failed event, no failed status, no manifest; it runs again elsewhere.
        assertThat(messaging.eventTypes()).containsExactly(JobEvents.STARTED);
        assertThat(store.objects).doesNotContainKey(BUCKET + "/j10/result.json");
        assertThat(store.objects).doesNotContainKey(BUCKET + "/j10/0.png");
        assertThat(messaging.deadLettersSent()).isEmpty();
    }

    private JsonNode json(String bucketAndKey) {
        try {
            return new ObjectMapper().readTree(store.objects.get(bucketAndKey).bytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private AckingMessaging.SentEvent last() {
        List<AckingMessaging.SentEvent> events = messaging.events();
        return events.get(events.size() - 1);
    }

    private static byte[] job(String id, String model, int width) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + model + "\", \"prompt\": \"a red circle\","
                + " \"width\": " + width + ", \"height\": 64, \"steps\": 3, \"scheduler\": \"euler\", \"seed\": 7}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8), value);
    }

    private static WebhookSender webhooks() {
        return new WebhookSender(new WebhookSettings("whsec_dGVzdC1wcm9maWxlLW9ubHktbm90LWEtcmVhbC1zZWNyZXQ=",
                Duration.ofSeconds(1), 1, Duration.ofSeconds(2), Duration.ofMillis(10), Duration.ofMillis(10), List.of(),
                "test"));
    }

    private static JobProcessor.Settings settings(Duration runningStatusDelay) {
        return new JobProcessor.Settings(BUCKET, Duration.ofHours(1), Duration.ofSeconds(5), runningStatusDelay);
    }
}
