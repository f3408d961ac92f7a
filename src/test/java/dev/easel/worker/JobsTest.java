package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobStatus;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.OracleBundle;
import dev.easel.messaging.AckingMessaging;
import dev.easel.messaging.DeadLetters;
import dev.easel.observe.LogContext;
import dev.easel.testing.LogCapture;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job through intake, run and answer, against an oracle model, an in-memory store and an in-memory broker. */
class JobsTest {

    private static final String PREFIX = TestWorker.PREFIX;
    private static final dev.easel.security.Tenant DEFAULT = new dev.easel.security.Tenants(false, Map.of(), TestWorker.BUCKET,
            "easel.jobs", Optional.empty()).byId(dev.easel.security.Tenants.DEFAULT).orElseThrow();

    @TempDir
    static Path dir;
    private static StableDiffusionModel model;

    private TestWorker worker;
    private InMemoryObjectStore store;
    private AckingMessaging messaging;
    private final AtomicBoolean cutOff = new AtomicBoolean();
    private Jobs jobs;
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
        jobs.stop();
    }

    @BeforeEach
    void setUp() {
        logs = LogCapture.of("dev.easel.worker");
        worker = new TestWorker(Map.of("oracle", new DiffusionPipeline(model, GenerationLimits.defaults())));
        worker.shutdown = () -> {
            if (cutOff.get()) {
                throw new JobAbandonedException("test worker shutting down");
            }
        };
        store = worker.store;
        messaging = worker.messaging;
        jobs = worker.build();
    }

    private void rebuild() {
        jobs.stop();
        jobs = worker.build();
    }

    @Test
    void validJobStoresImagesThenManifestAndCompletes() {
        jobs.pulled(record("j1", job("j1", 64, "")));

        assertThat(messaging.eventTypes()).startsWith(JobEvents.STARTED).contains(JobEvents.PROGRESS)
                .endsWith(JobEvents.COMPLETED);
        // The running status is written beside the image, so the two may land in either order; the manifest is last.
        assertThat(store.puts).hasSize(3).endsWith(PREFIX + "j1/result.json")
                .contains(PREFIX + "j1/status.json", PREFIX + "j1/0.png");
        assertThat(json(PREFIX + "j1/status.json").path("state").asText()).isEqualTo(JobStatus.RUNNING);
        assertThat(store.objects.get(PREFIX + "j1/0.png").contentType()).isEqualTo("image/png");
        JsonNode completed = last().data();
        assertThat(completed.at("/images/0/objectKey").asText()).isEqualTo("default/j1/0.png");
        assertThat(completed.at("/images/0/seed").asLong()).isEqualTo(7);
        assertThat(completed.at("/images/0/url").asText()).contains("X-Amz-Signature");
        assertThat(completed.has("metadata")).isFalse();
        assertThat(completed.path("timingsMs").fieldNames()).toIterable()
                .contains("queue", "load", "textEncode", "denoise", "decode", "upload", "total");
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(worker.meters.get("easel.job.stage").tags("stage", "denoise", "model", "oracle").timer().count())
                .isEqualTo(1);
        assertThat(worker.meters.get("easel.jobs.in.flight").gauge().value()).isZero();
    }

    @Test
    void everyLineLoggedForAJobNamesItAndItsModelAndNoneAfter() {
        jobs.pulled(record("j1", job("j1", 64, "")));

        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("job j1 completed"))).singleElement()
                .satisfies(r -> assertThat(r.getMdcCopy()).containsEntry(LogContext.JOB_ID, "j1")
                        .containsEntry(LogContext.MODEL, "oracle"));
        assertThat(MDC.get(LogContext.JOB_ID)).isNull();
        assertThat(MDC.get(LogContext.MODEL)).isNull();
    }

    @Test
    void imagesAreUploadedTogetherAndTheManifestLast() {
        jobs.pushed(job("j9", 64, ", \"numImages\": 3"), Optional.empty(), DEFAULT);

        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(store.puts).hasSize(5).endsWith(PREFIX + "j9/result.json")
                .contains(PREFIX + "j9/0.png", PREFIX + "j9/1.png", PREFIX + "j9/2.png");
        assertThat(last().data().path("images").findValuesAsText("objectKey"))
                .containsExactly("default/j9/0.png", "default/j9/1.png", "default/j9/2.png");
    }

    /** A receiver deduplicates by CloudEvent id: a repeated completion is the same record, byte for byte. */
    @Test
    void aRedeliveredJobIsAnsweredAgainWithTheSameBytes() {
        jobs.pulled(record("j2", job("j2", 64, "")));
        AckingMessaging.SentEvent first = last();
        store.puts.clear();

        jobs.pulled(record("j2", job("j2", 64, "")));

        assertThat(store.puts).isEmpty();
        assertThat(messaging.eventTypes()).filteredOn(JobEvents.STARTED::equals).hasSize(1);
        AckingMessaging.SentEvent again = last();
        assertThat(again.type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(again.id()).isEqualTo(first.id());
        assertThat(again.value()).isEqualTo(first.value());
        List<org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>> completions = messaging.broker.on(
                AckingMessaging.EVENTS).stream().filter(r -> JobEvents.COMPLETED.equals(AckingMessaging.header(r, "ce_type")))
                .toList();
        assertThat(completions.get(1).headers().toArray()).isEqualTo(completions.get(0).headers().toArray());
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);
    }

    /** A job's output may be a bucket its tenant writes: a manifest there naming other keys is not presigned. */
    @Test
    void aManifestNamingAnotherTenantsImageIsNoAnswerAndTheJobRuns() throws Exception {
        String forged = "{\"jobId\":\"j16\",\"model\":\"oracle\",\"bucket\":\"" + TestWorker.BUCKET
                + "\",\"images\":[{\"objectKey\":\"beta/secret/0.png\",\"seed\":1}],\"seed\":1,"
                + "\"seedChosen\":false,\"completedAt\":\"2026-01-01T00:00:00Z\"}";
        store.put(TestWorker.BUCKET, dev.easel.security.Tenants.DEFAULT + "/j16/result.json", forged.getBytes(StandardCharsets.UTF_8),
                "application/json", Map.of());
        store.puts.clear();

        jobs.pulled(record("j16", job("j16", 64, "")));

        assertThat(messaging.eventTypes()).startsWith(JobEvents.STARTED).endsWith(JobEvents.COMPLETED);
        assertThat(last().data().path("images").findValuesAsText("objectKey")).containsExactly("default/j16/0.png");
        assertThat(last().data().toString()).doesNotContain("beta/secret");
        assertThat(json(PREFIX + "j16/result.json").at("/images/0/objectKey").asText()).isEqualTo("default/j16/0.png");
        assertThat(jobs("duplicate")).isZero();
        // Once at the start, once more when the conditional write of its own manifest finds it.
        assertThat(logs.records(r -> r.getFormattedMessage().contains("names another job, bucket or prefix")))
                .hasSize(2);
    }

    /**
     * A job without a seed draws it from its tenant and id: run again (its manifest lost, or two
     * runs at once after a rebalance) it writes the same image, not another one over the first.
     */
    @Test
    void aJobWithoutASeedDrawsTheSameSeedEveryTimeItRuns() throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode unseeded = (com.fasterxml.jackson.databind.node.ObjectNode)
                new ObjectMapper().readTree(job("j17", 64, ""));
        unseeded.remove("seed");
        byte[] body = new ObjectMapper().writeValueAsBytes(unseeded);
        jobs.pulled(record("j17", body));
        JsonNode first = last().data();
        byte[] image = store.objects.get(PREFIX + "j17/0.png").bytes();
        store.objects.remove(PREFIX + "j17/result.json");

        jobs.pulled(record("j17", body));

        JsonNode second = last().data();
        assertThat(second.at("/images/0/seed").asLong()).isEqualTo(first.at("/images/0/seed").asLong())
                .isEqualTo(JobRunner.seedSource(dev.easel.security.Tenants.DEFAULT, "j17").nextLong(1L << 32));
        assertThat(store.objects.get(PREFIX + "j17/0.png").bytes()).isEqualTo(image);
        assertThat(JobRunner.seedSource(dev.easel.security.Tenants.DEFAULT, "j18").nextLong(1L << 32))
                .isNotEqualTo(first.at("/images/0/seed").asLong());
        assertThat(JobRunner.seedSource("acme", "j17").nextLong(1L << 32))
                .isNotEqualTo(first.at("/images/0/seed").asLong());
    }

    /**
     * A job whose deadline passed while it was queued (a backlog, a worker scaling up from zero) was
     * valid when submitted: it fails for good, "deadline passed", without a dead letter, as one
     * whose deadline passes while it runs; only a record written after its deadline is invalid.
     */
    @Test
    void aJobWhoseDeadlinePassedWhileQueuedFailsForGoodWithoutADeadLetter() {
        java.time.Instant submitted = java.time.Instant.now().minus(Duration.ofHours(2)).truncatedTo(
                java.time.temporal.ChronoUnit.SECONDS);
        java.time.Instant deadline = submitted.plus(Duration.ofHours(1));
        jobs.pulled(timed(record("j19", job("j19", 64, ", \"deadline\": \"" + deadline + "\"")), submitted));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().data().path("reason").asText())
                .isEqualTo("deadline passed: " + deadline + " came before the job could start");
        assertThat(last().data().path("retryable").asBoolean()).isFalse();
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(store.puts).doesNotContain(PREFIX + "j19/0.png");
        assertThat(jobs("failed")).isEqualTo(1);
        assertThat(store.objects.get(PREFIX + "j19/status.json").metadata()).containsEntry("dead-lettered", "false");

        // Its worker died before committing: redelivered, it is answered the same way, still without a dead letter.
        jobs.pulled(timed(record("j19", job("j19", 64, ", \"deadline\": \"" + deadline + "\"")), submitted));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED, JobEvents.FAILED);
        assertThat(last().data().path("reason").asText()).startsWith("deadline passed: " + deadline);
        assertThat(messaging.deadLettersSent()).isEmpty();

        jobs.pulled(timed(record("j20", job("j20", 64, ", \"deadline\": \"" + deadline + "\"")),
                deadline.plusSeconds(1)));

        assertThat(last().data().path("reason").asText()).startsWith("invalid job: deadline: is " + deadline
                + ", not after the time of submission " + deadline.plusSeconds(1));
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(jobs("rejected")).isEqualTo(1);
    }

    private static ConsumerRecord<byte[], byte[]> timed(ConsumerRecord<byte[], byte[]> record, java.time.Instant at) {
        return new ConsumerRecord<>(record.topic(), record.partition(), record.offset(), at.toEpochMilli(),
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, record.key().length, record.value().length,
                record.key(), record.value(), new org.apache.kafka.common.header.internals.RecordHeaders(),
                Optional.empty());
    }

    /**
     * A job's webhook goes out after its record is committed, so one under way at shutdown would
     * never be made: stop() waits for it (up to Jobs.WEBHOOK_WAIT).
     */
    @Test
    void shutdownWaitsForAWebhookUnderWay() throws Exception {
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        java.util.concurrent.CountDownLatch arrived = new java.util.concurrent.CountDownLatch(1);
        receiver.createContext("/hook", exchange -> {
            arrived.countDown();
            try {
                Thread.sleep(500); // a slow receiver: the delivery is under way when the worker stops
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.setExecutor(Executors.newCachedThreadPool());
        receiver.start();
        try {
            worker.webhookSender = TestWorker.webhooks(List.of(dev.easel.notify.Cidr.parse("127.0.0.0/8")));
            rebuild();
            String hook = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
            jobs.pulled(record("j21", job("j21", 64, ", \"webhook\": {\"url\": \"" + hook
                    + "\", \"events\": [\"completed\"]}")));
            assertThat(arrived.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

            jobs.stop();

            Counter delivered = worker.meters.find("easel.webhook.deliveries").tag("result", "delivered").counter();
            assertThat(delivered).isNotNull();
            assertThat(delivered.count()).isEqualTo(1);
        } finally {
            jobs = worker.build(); // stopped once: @AfterEach stops a fresh one
            receiver.stop(0);
        }
    }

    /** A webhook URL's path and query are often secrets: a failed delivery logs its scheme, host and port only. */
    @Test
    void aFailedWebhookIsLoggedWithoutItsPathOrQuery() throws Exception {
        jobs.pulled(record("j22", job("j22", 64, ", \"webhook\": {\"url\": "
                + "\"http://127.0.0.1:9/services/T0SECRET?token=hook-secret\", \"events\": [\"completed\"]}")));
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<String> lines = List.of();
        while (lines.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(20);
            lines = logs.records(r -> r.getFormattedMessage().contains("not delivered")).stream()
                    .map(r -> r.getFormattedMessage()).toList();
        }
        assertThat(lines).singleElement().satisfies(line -> assertThat(line)
                .contains("webhook job.completed to http://127.0.0.1:9/… not delivered")
                .doesNotContain("T0SECRET").doesNotContain("hook-secret"));
    }

    @Test
    void invalidJobFailsWithViolationsAndIsDeadLettered() {
        jobs.pulled(record("j3", job("j3", 100, "")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().subject()).isEqualTo("j3");
        assertThat(last().data().path("violations").findValuesAsText("field")).containsExactly("width");
        assertThat(messaging.deadLettersSent()).singleElement().satisfies(d -> assertThat(d.reason()).contains("width"));
        assertThat(store.puts).isEmpty();
        assertThat(jobs("rejected")).isEqualTo(1);
        assertThat(jobs("failed")).isZero();
    }

    /** POST /v1/jobs answers 409 here; a job put on Kafka directly is refused the same way. */
    @Test
    void anotherJobUnderACompletedJobsIdIsRefusedAndLeavesItsResultAlone() {
        jobs.pulled(record("j24", job("j24", 64, "")));
        byte[] manifest = store.objects.get(PREFIX + "j24/result.json").bytes();
        int puts = store.puts.size();

        jobs.pulled(record("j24", job("j24", 64, ", \"negativePrompt\": \"blue\"")));
        jobs.pulled(record("j24", job("j24", 64, "")));

        assertThat(messaging.eventTypes()).filteredOn(t -> !t.equals(JobEvents.PROGRESS))
                .containsExactly(JobEvents.STARTED, JobEvents.COMPLETED, JobEvents.FAILED, JobEvents.COMPLETED);
        assertThat(messaging.events().stream().filter(e -> e.type().equals(JobEvents.FAILED)).findFirst().orElseThrow()
                .data().path("violations").findValuesAsText("field")).containsExactly("id");
        assertThat(store.puts).hasSize(puts);
        assertThat(store.objects.get(PREFIX + "j24/result.json").bytes()).isEqualTo(manifest);
    }

    /** Answered under the key, it would make an event bigger than the broker takes, retried forever. */
    @Test
    void anInvalidJobWithoutIdUnderAHugeKeyIsAnsweredUnderAnIdOfItsDelivery() {
        jobs.pulled(record("k".repeat(600_000), "{}".getBytes(StandardCharsets.UTF_8)));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().subject()).hasSizeLessThanOrEqualTo(128).isNotEqualTo("k".repeat(600_000));
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(jobs("rejected")).isEqualTo(1);
    }

    @Test
    void aKeyThatIsAJobIdNamesTheAnswerOfAJobWithoutId() {
        jobs.pulled(record("my-job.7", "{}".getBytes(StandardCharsets.UTF_8)));
        jobs.pulled(record("not a job id!", "{}".getBytes(StandardCharsets.UTF_8)));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED, JobEvents.FAILED);
        assertThat(messaging.events().get(0).subject()).isEqualTo("my-job.7");
        assertThat(last().subject()).isNotEqualTo("not a job id!").matches("[A-Za-z0-9._-]{1,128}");
    }

    /** Found before any work: it would have failed writing PNG text after the whole generation. */
    @Test
    void aControlCharacterInThePromptIsRefusedBeforeGenerating() {
        jobs.pulled(record("j11", ("{\"version\": 1, \"id\": \"j11\", \"model\": \"oracle\", \"prompt\": \"a red\\u0000circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 3, \"seed\": 7}").getBytes(StandardCharsets.UTF_8)));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().data().at("/violations/0/field").asText()).isEqualTo("prompt");
        assertThat(last().data().at("/violations/0/problem").asText()).contains("U+0000");
        assertThat(messaging.deadLettersSent()).hasSize(1);
    }

    @Test
    void aMissingOutputBucketIsRefusedBeforeGeneratingAndNotRetryable() {
        store.missingBuckets.add("nowhere");

        jobs.pulled(record("j12", job("j12", 64, ", \"output\": {\"bucket\": \"nowhere\"}")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().data().at("/violations/0/field").asText()).isEqualTo("output.bucket");
        assertThat(last().data().path("retryable").asBoolean()).isFalse();
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(store.puts).isEmpty();
    }

    @Test
    void anUnusableInitImageIsDeadLetteredAsDocumented() {
        jobs.pulled(record("j13", job("j13", 64, ", \"initImage\": \"s3://images/no/such.png\"")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(last().data().at("/violations/0/field").asText()).isEqualTo("initImage");
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("initImage"));
    }

    @Test
    void unreadableRecordIsOnlyDeadLettered() {
        jobs.pulled(record("k", "[1, 2]".getBytes(StandardCharsets.UTF_8)));

        assertThat(messaging.eventTypes()).isEmpty();
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("not an object"));
        assertThat(jobs("dead_lettered")).isEqualTo(1);
        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("dead letter"))).singleElement()
                .satisfies(r -> assertThat(r.getMdcCopy()).containsEntry(LogContext.JOB_ID, "k"));
    }

    /** A valid job pulled after a fault completes. */
    private void theWorkerGoesOn() {
        jobs.pulled(record("j2", job("j2", 64, "")));
        assertTheLastAnswerIsACompleted("j2");
    }

    private void assertTheLastAnswerIsACompleted(String jobId) {
        assertThat(last().subject()).isEqualTo(jobId);
        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
    }

    /** An intake with a bug: it throws on the job with id "poison". */
    private void poisonIntake() {
        poisonIntake("poison", new NullPointerException("a bug in intake"));
    }

    /** An intake that throws {@code failure} (unchecked) on the job with that id. */
    private void poisonIntake(String id, Throwable failure) {
        worker.intake = (registry, limits) -> new JobIntake(registry, limits, java.time.Clock.systemUTC()) {
            @Override
            Intake take(byte[] json, Intake.Source source, dev.easel.security.Tenant tenant,
                        java.time.Instant submittedAt) {
                if (new String(json, StandardCharsets.UTF_8).contains("\"" + id + "\"")) {
                    if (failure instanceof Error error) {
                        throw error;
                    }
                    throw (RuntimeException) failure;
                }
                return super.take(json, source, tenant, submittedAt);
            }
        };
        rebuild();
    }

    @Test
    void aFaultOutsideTheRunFailsAndDeadLettersTheJobAndTheWorkerGoesOn() {
        poisonIntake();

        // Returning (not throwing) is what makes the consumer ack it rather than nack and stop the channel.
        jobs.pulled(record("poison", job("poison", 64, "")));
        jobs.pulled(record("j2", job("j2", 64, "")));

        List<AckingMessaging.SentEvent> events = messaging.events();
        assertThat(events.get(0).subject()).isEqualTo("poison");
        assertThat(events.get(0).type()).isEqualTo(JobEvents.FAILED);
        assertThat(events.get(0).data().path("reason").asText())
                .isEqualTo("internal error: NullPointerException: a bug in intake");
        assertThat(events.get(0).data().path("retryable").asBoolean()).isFalse();
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("NullPointerException"));
        assertTheLastAnswerIsACompleted("j2");
        assertThat(jobs("failed")).isEqualTo(1);
        assertThat(jobs("completed")).isEqualTo(1);
    }

    /** Presigning the images' URLs may need fresh credentials: a refresh that fails once is retried, the images kept. */
    @Test
    void aPresignThatFailsOnceIsRetriedNotAnInternalError() {
        store.failingPresigns.set(1);

        jobs.pulled(record("j33", job("j33", 64, "")));

        assertTheLastAnswerIsACompleted("j33");
        assertThat(jobs("completed")).isEqualTo(1);
    }

    /**
     * A job without an id (the contract allows it) takes one from its delivery: redelivered (its
     * worker died after storing the result, before the commit), it is the same job, answered from
     * its manifest, not run again under a new id with a new seed; another record of it is another job.
     */
    @Test
    void aJobWithoutAnIdIsTheSameJobWhenItsRecordComesAgain() {
        byte[] noId = ("{\"version\": 1, \"model\": \"oracle\", \"prompt\": \"a red circle\", \"width\": 64,"
                + " \"height\": 64, \"steps\": 3, \"scheduler\": \"euler\"}").getBytes(StandardCharsets.UTF_8);
        ConsumerRecord<byte[], byte[]> first = new ConsumerRecord<>("easel.jobs", 0, 41, null, noId);

        jobs.pulled(first);
        String id = last().data().path("images").path(0).path("objectKey").asText().split("/")[1];
        long seed = last().data().path("images").path(0).path("seed").asLong();
        jobs.pulled(first);

        assertThat(last().data().path("images").path(0).path("objectKey").asText()).contains("/" + id + "/");
        assertThat(last().data().path("images").path(0).path("seed").asLong()).isEqualTo(seed);
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).as("answered from its manifest, not run again").isEqualTo(1);

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 42, null, noId));
        assertThat(last().data().path("images").path(0).path("objectKey").asText()).doesNotContain("/" + id + "/");
        assertThat(jobs("completed")).isEqualTo(2);

        // The topic recreated: offset 41 again, another record (another time), another job.
        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 41, System.currentTimeMillis(),
                org.apache.kafka.common.record.TimestampType.CREATE_TIME, 0, 0, null, noId,
                new org.apache.kafka.common.header.internals.RecordHeaders(), Optional.empty()));
        assertThat(last().data().path("images").path(0).path("objectKey").asText()).doesNotContain("/" + id + "/");
        assertThat(jobs("completed")).isEqualTo(3);
    }

    /**
     * A valid job for a model this worker is configured with but could not load is no invalid job:
     * failed, retryable, dead-lettered for replay once the model is mended, its status written, and
     * the load error (the worker's own files) kept out of the answer.
     */
    @Test
    void aJobForAModelThatFailedToLoadIsARetryableFailureNotARejection() throws Exception {
        worker.failedModels = Map.of("broken", "cannot load /srv/models/broken: unet/model.onnx: timestep_cond");
        jobs = worker.build();

        jobs.pulled(record("j31", job("j31", 64, ", \"model\": \"broken\"")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last().data();
        assertThat(failed.path("reason").asText()).isEqualTo("model \"broken\" failed to load on this worker; the job"
                + " is dead-lettered, to be replayed once the model is mended");
        assertThat(failed.path("retryable").asBoolean()).isTrue();
        assertThat(failed.has("violations")).isFalse();
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(jobs("failed")).isEqualTo(1);
        assertThat(jobs("rejected")).isZero();
        assertThat(new String(store.objects.get(PREFIX + "j31/status.json").bytes(), StandardCharsets.UTF_8))
                .contains("\"state\":\"failed\"").doesNotContain("/srv/models");

        jobs.pulled(record("j32", job("j32", 64, ", \"model\": \"never-configured\"")));
        assertThat(last().data().path("reason").asText()).startsWith("invalid job: model: is not a model this worker serves");
        assertThat(last().data().path("violations").path(0).path("limit").asText()).isEqualTo("one of broken, oracle");
    }

    /** Redelivered to a worker whose copy of its model failed to load, a job completed elsewhere keeps its answer. */
    @Test
    void aCompletedJobRedeliveredWhereItsModelFailedIsAnsweredAsCompleted() {
        jobs.pulled(record("j34", job("j34", 64, "")));
        assertTheLastAnswerIsACompleted("j34");
        worker.failedModels = Map.of("oracle", "cannot load (test)");
        worker.models = Map.of();
        jobs = worker.build();

        jobs.pulled(record("j34", job("j34", 64, "")));

        assertTheLastAnswerIsACompleted("j34");
        assertThat(messaging.deadLettersSent()).isEmpty();
    }

    /**
     * Its worker answered it and died before committing: the same record comes again. It is answered
     * as it was the first time, not run again (storage works now: a second run would complete a job
     * already answered failed). A re-post of the job, another record, runs.
     */
    @Test
    void aRedeliveredFailedJobIsAnsweredWithItsFirstFailureAndARepostRuns() throws Exception {
        store.breakPutOf("j18/0.png", new dev.easel.store.PermanentStorageException("AccessDenied (test)", null));
        jobs.pulled(record("j18", job("j18", 64, "")));
        String first = last().data().path("reason").asText();
        assertThat(first).isEqualTo("storage refused the job: AccessDenied (test)");
        store.breakPutOf("never", new AssertionError());
        int before = messaging.events().size();

        jobs.pulled(record("j18", job("j18", 64, "")));

        List<String> again = messaging.eventTypes().subList(before, messaging.events().size());
        assertThat(again).as("no started event: it did not run again").containsExactly(JobEvents.FAILED);
        assertThat(last().data().path("reason").asText()).isEqualTo(first);
        List<org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>> failures = messaging.broker.on(
                AckingMessaging.EVENTS).stream().filter(r -> JobEvents.FAILED.equals(AckingMessaging.header(r, "ce_type"))).toList();
        for (String attribute : List.of("ce_id", "ce_source", "ce_time")) {
            assertThat(AckingMessaging.header(failures.get(1), attribute)).as("the same event: %s", attribute)
                    .isEqualTo(AckingMessaging.header(failures.get(0), attribute));
        }
        assertThat(failures.get(1).value()).isEqualTo(failures.get(0).value());
        assertThat(store.objects).doesNotContainKey(PREFIX + "j18/0.png");
        assertThat(messaging.deadLettersSent()).as("the dead letter is sent again: it may repeat, not be lost")
                .hasSize(2);
        assertThat(store.objects.get(PREFIX + "j18/status.json").metadata()).containsEntry("dead-lettered", "true");
        assertThat(jobs("failed")).as("its fate is counted once").isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j18".getBytes(StandardCharsets.UTF_8), job("j18", 64, "")));

        assertTheLastAnswerIsACompleted("j18");
        assertThat(store.objects).containsKey(PREFIX + "j18/0.png");
    }

    /** A re-post while the job runs here (concurrency 2): the second waits, then is answered from the first's manifest. */
    @Test
    void twoDeliveriesOfOneJobAtOnceRunItOnceAndAnswerItAlike() throws Exception {
        byte[] value = job("j26", 64, "");
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> jobs.pulled(record("j26", value)));
        CompletableFuture<Void> second = CompletableFuture.runAsync(() ->
                jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j26".getBytes(StandardCharsets.UTF_8), value)));
        first.get(60, TimeUnit.SECONDS);
        second.get(60, TimeUnit.SECONDS);

        assertThat(messaging.eventTypes()).filteredOn(JobEvents.STARTED::equals).hasSize(1);
        List<AckingMessaging.SentEvent> completed = messaging.events().stream()
                .filter(e -> e.type().equals(JobEvents.COMPLETED)).toList();
        assertThat(completed).hasSize(2);
        assertThat(completed.get(1).value()).isEqualTo(completed.get(0).value());
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);
    }

    /**
     * Two runs of one job at once (a rebalance hands its record to a second worker): the one that
     * fails after the other completed answers with that completion, not a contradicting failure.
     */
    @Test
    void aRunThatFailsAfterAnotherRunCompletedTheJobAnswersCompleted() {
        jobs.pulled(record("j25", job("j25", 64, "")));
        AckingMessaging.SentEvent completed = last();
        dev.easel.store.StoredObject manifest = store.objects.remove(PREFIX + "j25/result.json");
        store.breakPutOf("j25/0.png", new dev.easel.store.PermanentStorageException("AccessDenied (test)", null));
        store.beforePut = key -> {
            if (key.endsWith("j25/0.png")) {
                store.objects.put(PREFIX + "j25/result.json", manifest); // the other run's, stored meanwhile
            }
        };
        int before = messaging.events().size();

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j25".getBytes(StandardCharsets.UTF_8), job("j25", 64, "")));

        assertThat(messaging.eventTypes().subList(before, messaging.events().size())).doesNotContain(JobEvents.FAILED)
                .endsWith(JobEvents.COMPLETED);
        assertThat(last().value()).isEqualTo(completed.value());
        assertThat(jobs("failed")).isZero();
    }

    /**
     * Two runs of one job at once, on two workers: the one that comes to store its manifest second
     * finds the other's (the conditional write refuses it) and answers with the first's completed
     * event, the same CloudEvent, so a consumer sees one completion whatever order they end in.
     */
    @Test
    void aRunThatCompletesAfterAnotherRunCompletedTheJobAnswersWithTheFirstsEvent() {
        jobs.pulled(record("j27", job("j27", 64, "")));
        AckingMessaging.SentEvent first = last();
        dev.easel.store.StoredObject manifest = store.objects.remove(PREFIX + "j27/result.json");
        store.beforePut = key -> {
            if (key.endsWith("j27/result.json")) {
                store.objects.put(PREFIX + "j27/result.json", manifest); // the other run's, stored meanwhile
            }
        };

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j27".getBytes(StandardCharsets.UTF_8), job("j27", 64, "")));

        AckingMessaging.SentEvent second = last();
        assertThat(second.type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(second.id()).isEqualTo(first.id());
        assertThat(second.value()).isEqualTo(first.value());
        assertThat(store.objects.get(PREFIX + "j27/result.json")).isSameAs(manifest);
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);
    }

    /** The manifest stored, its answer lost, the write retried: the run's own manifest is there, and the job completed. */
    @Test
    void aRetriedManifestWriteThatHadLandedCompletesTheJob() {
        store.loseAnswerOf = "j30/result.json";

        jobs.pulled(record("j30", job("j30", 64, "")));

        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(messaging.eventTypes()).filteredOn(JobEvents.COMPLETED::equals).hasSize(1);
        assertThat(jobs("completed")).isEqualTo(1);
        assertThat(jobs("duplicate")).isZero();
        assertThat(logs.records(r -> r.getFormattedMessage().contains("stored its result first"))).isEmpty();
    }

    /**
     * Tenants granted one output prefix store their jobs under the same keys: a manifest of another
     * tenant's job under this id is not this job's answer, whatever the job; it is refused as a
     * job under a taken id is, and the other tenant's result is left as it is.
     */
    @Test
    void anotherTenantsManifestUnderTheJobsKeysRefusesTheJob() {
        jobs.pulled(record("j31", job("j31", 64, "")));
        dev.easel.store.StoredObject ours = store.objects.get(PREFIX + "j31/result.json");
        com.fasterxml.jackson.databind.node.ObjectNode theirs = (com.fasterxml.jackson.databind.node.ObjectNode)
                json(PREFIX + "j31/result.json");
        assertThat(theirs.path("tenant").asText()).isEqualTo(dev.easel.security.Tenants.DEFAULT);
        theirs.put("tenant", "acme");
        byte[] bytes = theirs.toString().getBytes(StandardCharsets.UTF_8);
        store.objects.put(PREFIX + "j31/result.json", new dev.easel.store.StoredObject(bytes, ours.contentType(),
                ours.metadata()));

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j31".getBytes(StandardCharsets.UTF_8), job("j31", 64, "")));

        assertThat(last().type()).isEqualTo(JobEvents.FAILED);
        assertThat(last().data().path("violations").findValuesAsText("field")).containsExactly("id");
        assertThat(store.objects.get(PREFIX + "j31/result.json").bytes()).isEqualTo(bytes);
    }

    /**
     * A redelivered job completed by an older worker, whose manifest holds no completed event: the
     * event is made from it, presigning its images within the job's budget, so a credentials
     * refresh that fails once does not turn the completed job into a failed one.
     */
    @Test
    void anOlderWorkersManifestIsAnsweredCompletedThoughPresigningFailsOnce() {
        jobs.pulled(record("j32", job("j32", 64, "")));
        com.fasterxml.jackson.databind.node.ObjectNode older = (com.fasterxml.jackson.databind.node.ObjectNode)
                json(PREFIX + "j32/result.json");
        older.remove(List.of("answer", "jobDigest", "tenant"));
        dev.easel.store.StoredObject ours = store.objects.get(PREFIX + "j32/result.json");
        store.objects.put(PREFIX + "j32/result.json", new dev.easel.store.StoredObject(
                older.toString().getBytes(StandardCharsets.UTF_8), ours.contentType(), ours.metadata()));
        store.failingPresigns.set(1);
        int before = messaging.events().size();

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j32".getBytes(StandardCharsets.UTF_8), job("j32", 64, "")));

        assertThat(messaging.eventTypes().subList(before, messaging.events().size())).containsExactly(JobEvents.COMPLETED);
        assertThat(last().data().at("/images/0/objectKey").asText()).isEqualTo("default/j32/0.png");
        assertThat(jobs("duplicate")).isEqualTo(1);
        assertThat(jobs("failed")).isZero();
    }

    /** What holds the manifest's key when the run comes to write it is not a manifest of the job: replaced, as at the start. */
    @Test
    void aStrayObjectAtTheManifestsKeyIsReplaced() {
        store.beforePut = key -> {
            if (key.endsWith("j28/result.json")) {
                store.objects.put(PREFIX + "j28/result.json", new dev.easel.store.StoredObject(
                        "not a manifest".getBytes(StandardCharsets.UTF_8), "text/plain", Map.of()));
            }
        };

        jobs.pulled(record("j28", job("j28", 64, "")));

        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(json(PREFIX + "j28/result.json").path("jobId").asText()).isEqualTo("j28");
        assertThat(jobs("completed")).isEqualTo(1);
    }

    /** Another job under the same id stored its manifest while this one ran: its answer stands, this one is refused. */
    @Test
    void anotherJobsManifestStoredMeanwhileUnderTheIdRefusesTheJob() {
        jobs.pulled(record("j29", job("j29", 64, "")));
        dev.easel.store.StoredObject other = store.objects.remove(PREFIX + "j29/result.json");
        store.beforePut = key -> {
            if (key.endsWith("j29/result.json")) {
                store.objects.put(PREFIX + "j29/result.json", other);
            }
        };

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j29".getBytes(StandardCharsets.UTF_8),
                job("j29", 64, ", \"prompt\": \"a blue square\"")));

        assertThat(last().type()).isEqualTo(JobEvents.FAILED);
        assertThat(last().data().path("violations").get(0).path("field").asText()).isEqualTo("id");
        assertThat(store.objects.get(PREFIX + "j29/result.json")).isSameAs(other);
    }

    /** A failing run does not answer with another tenant's completion found meanwhile under its keys (a shared prefix). */
    @Test
    void aRunThatFailsDoesNotAnswerWithAnotherTenantsCompletion() {
        jobs.pulled(record("j33", job("j33", 64, "")));
        com.fasterxml.jackson.databind.node.ObjectNode theirs = (com.fasterxml.jackson.databind.node.ObjectNode)
                json(PREFIX + "j33/result.json");
        theirs.put("tenant", "acme");
        dev.easel.store.StoredObject stored = store.objects.remove(PREFIX + "j33/result.json");
        dev.easel.store.StoredObject other = new dev.easel.store.StoredObject(
                theirs.toString().getBytes(StandardCharsets.UTF_8), stored.contentType(), stored.metadata());
        store.breakPutOf("j33/0.png", new dev.easel.store.PermanentStorageException("AccessDenied (test)", null));
        store.beforePut = key -> {
            if (key.endsWith("j33/0.png")) {
                store.objects.put(PREFIX + "j33/result.json", other);
            }
        };

        jobs.pulled(new ConsumerRecord<>("easel.jobs", 0, 1, "j33".getBytes(StandardCharsets.UTF_8), job("j33", 64, "")));

        assertThat(last().type()).isEqualTo(JobEvents.FAILED);
        assertThat(last().data().path("reason").asText()).contains("AccessDenied (test)");
    }

    /** Push mode: the sender's redelivery repeats the CloudEvent's source and id; a re-post is another event, and runs. */
    @Test
    void aPushedJobRedeliveredIsAnsweredAsBeforeAndAnotherEventOfItRuns() {
        store.breakPutOf("j20/0.png", new dev.easel.store.PermanentStorageException("AccessDenied (test)", null));
        JsonNode first = jobs.pushed(job("j20", 64, ""), Optional.empty(), DEFAULT, Optional.of("/src#event-1"));
        store.breakPutOf("never", new AssertionError());
        int before = messaging.events().size();

        JsonNode again = jobs.pushed(job("j20", 64, ""), Optional.empty(), DEFAULT, Optional.of("/src#event-1"));

        assertThat(again.path("reason").asText()).isEqualTo(first.path("reason").asText())
                .isEqualTo("storage refused the job: AccessDenied (test)");
        assertThat(messaging.eventTypes().subList(before, messaging.events().size())).containsExactly(JobEvents.FAILED);

        JsonNode another = jobs.pushed(job("j20", 64, ""), Optional.empty(), DEFAULT, Optional.of("/src#event-2"));
        assertThat(another.has("images")).as("a new event of the job runs it: %s", another).isTrue();
    }

    /** A cancelled job redelivered keeps its first reason, though its cancellation now reads "before it started". */
    @Test
    void aRedeliveredCancelledJobKeepsItsFirstReason() {
        worker.cancellations.cancel("default", "j19", "DELETE by its submitter", System.currentTimeMillis());
        jobs.pulled(record("j19", job("j19", 64, "")));
        String first = last().data().path("reason").asText();
        worker.cancellations.cancel("default", "j19", "a second DELETE", System.currentTimeMillis());

        jobs.pulled(record("j19", job("j19", 64, "")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.CANCELLED, JobEvents.CANCELLED);
        assertThat(last().data().path("reason").asText()).isEqualTo(first);
        assertThat(jobs("cancelled")).isEqualTo(1);
        assertThat(jobs("duplicate")).isEqualTo(1);
    }

    /** An Error a job brings on (its tensors too big for the heap) is the job's fault, not the worker's. */
    @Test
    void aJobThatExhaustsTheHeapFailsAndIsDeadLetteredAndTheWorkerGoesOn() {
        poisonIntake("huge", new OutOfMemoryError("Java heap space (test)"));

        jobs.pulled(record("huge", job("huge", 64, "")));

        assertThat(messaging.events()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(JobEvents.FAILED);
            assertThat(e.data().path("reason").asText())
                    .isEqualTo("internal error: OutOfMemoryError: Java heap space (test)");
            // Another job running beside it may have taken the memory: worth a retry (from its dead letter).
            assertThat(e.data().path("retryable").asBoolean()).isTrue();
        });
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("OutOfMemoryError"));
        theWorkerGoesOn();
    }

    /** An upload that dies of an Error on its own thread is not lost: no manifest names its image. */
    @Test
    void anImageWhoseUploadDiesOfAnErrorIsNeverNamedByAManifest() {
        store.breakPutOf("j16/0.png", new StackOverflowError("deep (test)"));

        jobs.pulled(record("j16", job("j16", 64, ", \"numImages\": 2")));

        assertThat(store.objects).doesNotContainKey(PREFIX + "j16/result.json")
                .doesNotContainKey(PREFIX + "j16/0.png");
        assertThat(messaging.eventTypes()).doesNotContain(JobEvents.COMPLETED).endsWith(JobEvents.FAILED);
        assertThat(last().data().path("reason").asText()).isEqualTo("internal error: StackOverflowError: deep (test)");
        assertThat(last().data().path("retryable").asBoolean()).as("the job's own recursion: it would fail again").isFalse();
        assertThat(messaging.deadLettersSent()).hasSize(1);
        store.breakPutOf("never", new AssertionError());
        theWorkerGoesOn();
    }

    @Test
    void aJobWhoseAnswerBreaksIsDeadLetteredAndTheWorkerGoesOn() {
        messaging.broker.breakOn(AckingMessaging.EVENTS);

        jobs.pulled(record("j1", job("j1", 64, "")));

        assertThat(messaging.events()).isEmpty();
        assertThat(messaging.deadLettersSent()).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("IllegalStateException: sending to easel.events is broken"));
        assertThat(jobs("dead_lettered")).isEqualTo(1);

        messaging.broker.breakOn(null);
        theWorkerGoesOn();
    }

    @Test
    void unknownModelIsRejectedNamingTheModelsServed() {
        jobs.pulled(record("j4", job("j4", 64, ", \"model\": \"sd-9\"")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last().data();
        assertThat(failed.path("reason").asText()).contains("sd-9").contains("oracle");
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("model");
        assertThat(failed.path("retryable").asBoolean()).isFalse();
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(jobs("rejected")).isEqualTo(1);
    }

    @Test
    void unknownRefinerIsRejectedBeforeGenerating() {
        jobs.pulled(record("j5", job("j5", 64, ", \"refiner\": {\"model\": \"xl-refiner\"}")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        JsonNode failed = last().data();
        assertThat(failed.at("/violations/0/field").asText()).isEqualTo("refiner.model");
        assertThat(failed.path("reason").asText()).contains("xl-refiner").contains("oracle");
        assertThat(messaging.deadLettersSent()).hasSize(1);
    }

    @Test
    void pushedJobReturnsItsAnswer() {
        JsonNode answer = jobs.pushed(job("j7", 64, ""), Optional.empty(), DEFAULT);

        assertThat(answer.has("images")).isTrue();
        assertThat(last().type()).isEqualTo(JobEvents.COMPLETED);
        assertThat(store.puts).contains(PREFIX + "j7/result.json");
    }

    @Test
    void aFaultAfterTheAnswerIsOutDoesNotAnswerTheJobAgain() {
        messaging.broker.breakOn(AckingMessaging.DEAD_LETTERS);

        // Invalid: its failed event goes out, then sending its dead letter throws.
        jobs.pulled(record("j8", job("j8", 100, "")));

        assertThat(messaging.events()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(JobEvents.FAILED);
            assertThat(e.data().path("reason").asText()).startsWith("invalid job: width");
        });
        assertThat(worker.meters.find("easel.dead.letters.lost").counter().count()).isEqualTo(1);
        assertThat(jobs("rejected")).isEqualTo(1);
        messaging.broker.breakOn(null);
        theWorkerGoesOn();
    }

    @Test
    void aPushedJobThatBreaksTheWorkerIsAnsweredFailedNotRedelivered() {
        poisonIntake();

        JsonNode answer = jobs.pushed(job("poison", 64, ""), Optional.empty(), DEFAULT);

        assertThat(answer.path("reason").asText()).isEqualTo("internal error: NullPointerException: a bug in intake");
        assertThat(answer.path("retryable").asBoolean()).isFalse();
        assertThat(last().type()).isEqualTo(JobEvents.FAILED);
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(jobs.pushed(job("j7", 64, ""), Optional.empty(), DEFAULT).has("images")).isTrue();
    }

    @Test
    void aPushedJobWhoseFailureCannotBeAnsweredIsLeftForRedelivery() {
        poisonIntake();
        messaging.broker.breakOn(AckingMessaging.EVENTS);

        assertThatThrownBy(() -> jobs.pushed(job("poison", 64, ""), Optional.empty(), DEFAULT))
                .isInstanceOf(UnansweredJobException.class)
                .hasMessageContaining("a bug in intake");
        assertThat(jobs("unanswered")).isEqualTo(1);
    }

    @Test
    void pushedInvalidJobFailsWithoutADeadLetter() {
        JsonNode answer = jobs.pushed(job("j8", 100, ""), Optional.empty(), DEFAULT);

        assertThat(answer.path("retryable").asBoolean()).isFalse();
        assertThat(messaging.eventTypes()).containsExactly(JobEvents.FAILED);
        assertThat(messaging.deadLettersSent()).isEmpty();
        assertThat(jobs("rejected")).isEqualTo(1);
    }

    @Test
    void aJobOverBeforeTheRunningStatusDelayWritesNoRunningStatus() {
        worker.runningStatusDelay = Duration.ofHours(1);
        rebuild();

        jobs.pulled(record("j10", job("j10", 64, "")));

        assertThat(messaging.eventTypes()).endsWith(JobEvents.COMPLETED);
        assertThat(store.puts).containsExactly(PREFIX + "j10/0.png", PREFIX + "j10/result.json");
    }

    /** A storage outage within the budget is waited out: the job completes, nothing says failed. */
    @Test
    void aStorageOutageWithinTheBudgetIsRetriedNotFailed() {
        store.outage(5);

        jobs.pulled(record("j14", job("j14", 64, "")));

        assertThat(messaging.eventTypes()).endsWith(JobEvents.COMPLETED).doesNotContain(JobEvents.FAILED);
        assertThat(store.objects).containsKey(PREFIX + "j14/result.json");
        assertThat(jobs("completed")).isEqualTo(1);
    }

    @Test
    void aStorageOutagePastTheBudgetFailsRetryableAndIsDeadLettered() {
        worker.retryBudget = Duration.ofMillis(300);
        rebuild();
        store.failPuts();

        jobs.pulled(record("j5", job("j5", 64, "")));

        assertThat(messaging.eventTypes()).startsWith(JobEvents.STARTED).endsWith(JobEvents.FAILED);
        assertThat(last().data().path("retryable").asBoolean()).isTrue();
        assertThat(last().data().path("reason").asText()).contains("storage is down").contains("retry budget");
        assertThat(messaging.deadLettersSent()).hasSize(1);
        assertThat(jobs("failed")).isEqualTo(1);
    }

    /** Its record is committed after the failure: without a letter the job would be on the jobs topic only. */
    @Test
    void withStorageDownARetryableFailureIsStillDeadLetteredKeepingItsOriginalsPrefix() {
        worker.retryBudget = Duration.ofMillis(300);
        rebuild();
        store.failPuts();
        byte[] value = job("j23", 64, "");

        jobs.pulled(record("k".repeat(850_000), value));

        assertThat(last().subject()).isEqualTo("j23");
        assertThat(last().data().path("retryable").asBoolean()).isTrue();
        assertThat(messaging.deadLettersSent()).singleElement().satisfies(letter -> {
            assertThat(AckingMessaging.header(letter.record(), DeadLetters.NOT_STORED)).contains("retry budget");
            assertThat(AckingMessaging.header(letter.record(), DeadLetters.ORIGINAL_KEY_BYTES)).isEqualTo("850000");
            assertThat(letter.record().key()).hasSize(1024);
            assertThat(letter.value()).isEqualTo(value);
        });
    }

    @Test
    void aPushedJobPastTheBudgetIsLeftForRedeliveryWithoutAnAnswer() {
        worker.retryBudget = Duration.ofMillis(300);
        rebuild();
        store.failPuts();

        assertThatThrownBy(() -> jobs.pushed(job("j15", 64, ""), Optional.empty(), DEFAULT))
                .isInstanceOf(UnansweredJobException.class);
        assertThat(messaging.eventTypes()).doesNotContain(JobEvents.FAILED, JobEvents.COMPLETED);
    }

    /** The broker refusing answers for a while: the job waits for it and is answered once, no exception. */
    @Test
    void aBrokerThatRefusesForAWhileIsWaitedFor() {
        messaging.broker.refuse(4);

        jobs.pulled(record("j16", job("j16", 64, "")));

        assertThat(messaging.eventTypes()).endsWith(JobEvents.COMPLETED);
        assertThat(worker.broker.call().getStatus().name()).isEqualTo("UP");
    }

    @Test
    void aQueuedJobCancelledBeforeItRunsIsAnsweredCancelledWithoutStarting() {
        worker.cancellations.cancel("default", "j17", "DELETE by its submitter", System.currentTimeMillis());

        jobs.pulled(record("j17", job("j17", 64, "")));

        assertThat(messaging.eventTypes()).containsExactly(JobEvents.CANCELLED);
        assertThat(json(PREFIX + "j17/status.json").path("state").asText()).isEqualTo(JobStatus.CANCELLED);
        assertThat(store.objects).doesNotContainKey(PREFIX + "j17/0.png");
        assertThat(jobs("cancelled")).isEqualTo(1);
    }

    @Test
    void jobCutOffByShutdownIsLeftUnanswered() {
        cutOff.set(true);

        assertThatThrownBy(() -> jobs.pulled(record("j10", job("j10", 64, ""))))
                .isInstanceOf(JobAbandonedException.class);

        // Nothing at all: taken after the cut-off it does not start (no started event, no failed
        // event, no status, no manifest); it runs again elsewhere. Cut off while running: ShutdownIT.
        assertThat(messaging.eventTypes()).isEmpty();
        assertThat(store.objects).doesNotContainKey(PREFIX + "j10/result.json");
        assertThat(store.objects).doesNotContainKey(PREFIX + "j10/0.png");
        assertThat(messaging.deadLettersSent()).isEmpty();
    }

    /**
     * Two jobs at once, one pulled and one pushed, many times: every PNG is the one the same job
     * makes alone (the encoder is per job; a shared one would mix the two jobs' buffers).
     */
    @Test
    void concurrentPulledAndPushedJobsEachGetTheirOwnImages() throws Exception {
        jobs.pushed(job("alone-a", 64, ", \"prompt\": \"a blue square\", \"seed\": 1"), Optional.empty(), DEFAULT);
        jobs.pushed(job("alone-b", 64, ", \"prompt\": \"a red circle\", \"seed\": 2"), Optional.empty(), DEFAULT);
        byte[] a = store.objects.get(PREFIX + "alone-a/0.png").bytes();
        byte[] b = store.objects.get(PREFIX + "alone-b/0.png").bytes();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String pulled = "pulled-" + i;
                String pushed = "pushed-" + i;
                runs.add(threads.submit(() -> jobs.pulled(record(pulled, job(pulled, 64,
                        ", \"prompt\": \"a blue square\", \"seed\": 1")))));
                runs.add(threads.submit(() -> jobs.pushed(job(pushed, 64, ", \"prompt\": \"a red circle\", \"seed\": 2"),
                        Optional.empty(), DEFAULT)));
            }
            for (Future<?> run : runs) {
                run.get();
            }
        } finally {
            threads.shutdown();
        }
        for (int i = 0; i < 10; i++) {
            assertThat(store.objects.get(PREFIX + "pulled-" + i + "/0.png").bytes()).as("pulled-" + i).isEqualTo(a);
            assertThat(store.objects.get(PREFIX + "pushed-" + i + "/0.png").bytes()).as("pushed-" + i).isEqualTo(b);
        }
    }

    private double jobs(String outcome) {
        Counter counter = worker.meters.find("easel.jobs").tag("outcome", outcome).counter();
        return counter == null ? 0 : counter.count();
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

    /** A job; {@code extra} fields come after the defaults and win (the parser refuses duplicates, so they replace). */
    private static byte[] job(String id, int width, String extra) {
        String json = "{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"oracle\", \"prompt\": \"a red circle\","
                + " \"width\": " + width + ", \"height\": 64, \"steps\": 3, \"scheduler\": \"euler\", \"seed\": 7" + "}";
        ObjectMapper mapper = new ObjectMapper();
        try {
            com.fasterxml.jackson.databind.node.ObjectNode node = (com.fasterxml.jackson.databind.node.ObjectNode)
                    mapper.readTree(json);
            if (!extra.isEmpty()) {
                node.setAll((com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree("{" + extra.substring(1) + "}"));
            }
            return mapper.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ConsumerRecord<>("easel.jobs", 0, 0, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
