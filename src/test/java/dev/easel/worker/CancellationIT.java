package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.easel.testing.TestKeys;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.JobEvents;
import dev.easel.messaging.CancelQueue;
import dev.easel.messaging.CancelRecords.CancelRequest;
import dev.easel.testing.TopicReader;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.common.annotation.Identifier;
import jakarta.inject.Inject;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code DELETE /v1/jobs/{id}} end to end: the cancellation goes through the control topic to this
 * worker's {@link CancellationFeed}, and the job stops (running) or never starts (queued), answered
 * {@code cancelled} by event, webhook and status. Every progress event is published here (no
 * throttle), so the steps a job runs after its worker learned of the cancellation can be counted.
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
@TestProfile(CancellationIT.EveryStep.class)
class CancellationIT {

    /** Every progress event, for counting steps; a profile of its own, so it gets its own worker. */
    public static class EveryStep implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("easel.events.progress-per-second", "1000");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** Many steps of the random SD-shaped model at 256×256: seconds of work, as long as the limits allow. */
    private static final int SLOW_STEPS = 150;

    private static HttpServer receiver;
    private static final List<String> hookBodies = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @Inject
    TopicsConfig topics;
    @Inject
    Cancellations cancellations;
    @Inject
    CancelQueue cancelQueue;
    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafka;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;
    @TestHTTPResource("/")
    URI base;

    @BeforeAll
    static void startReceiver() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            hookBodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterAll
    static void stopReceiver() {
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    void runningJobStopsWithinAStepAndIsAnsweredCancelled() throws Exception {
        String id = "cancel-running-" + UUID.randomUUID();
        String hook = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        assertThat(post(slowJob(id, ", \"webhook\": {\"url\": \"" + hook + "\"}, \"metadata\": {\"user\": \"u1\"}"))
                .statusCode()).isEqualTo(202);
        awaitEvent(id, JobEvents.STARTED);
        awaitEvent(id, JobEvents.PROGRESS); // denoising under way

        HttpResponse<String> deleted = delete(id, "user pressed stop");

        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(202);
        JsonNode accepted = JSON.readTree(deleted.body());
        assertThat(accepted.path("id").asText()).isEqualTo(id);
        assertThat(accepted.path("status").asText()).isIn("queued", "running");
        assertThat(accepted.path("cancelRequested").asBoolean()).isTrue();
        assertThat(deleted.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).endsWith("/v1/jobs/" + id));
        // When this worker learned of it (same JVM, same clock as the events' times).
        await(() -> cancellations.reason("default", id).isPresent(), "the worker hears of the cancellation");
        Instant known = Instant.now();

        ConsumerRecord<byte[], byte[]> cancelled = awaitEvent(id, JobEvents.CANCELLED);
        JsonNode data = JSON.readTree(cancelled.value());
        assertThat(data.path("reason").asText()).isEqualTo("cancelled while running: user pressed stop");
        assertThat(data.path("metadata").path("user").asText()).isEqualTo("u1");
        List<ConsumerRecord<byte[], byte[]>> events = events(id);
        assertThat(events).noneMatch(r -> JobEvents.COMPLETED.equals(type(r)) || JobEvents.FAILED.equals(type(r)));
        assertThat(type(events.get(events.size() - 1))).as("nothing after the final event").isEqualTo(JobEvents.CANCELLED);
        List<ConsumerRecord<byte[], byte[]>> progress = events.stream().filter(r -> JobEvents.PROGRESS.equals(type(r))).toList();
        int lastStep = JSON.readTree(progress.get(progress.size() - 1).value()).path("step").asInt();
        // The step under way when the cancellation arrived finishes, then the loop stops: one step, two for
        // the polling here (every 5 ms) missing the moment by a step's length.
        long stepsAfter = progress.stream().filter(r -> time(r).isAfter(known)).count();
        System.out.printf("cancelled at step %d of %d; %d step(s) finished after the worker knew%n", lastStep,
                SLOW_STEPS, stepsAfter);
        assertThat(lastStep).isLessThan(SLOW_STEPS);
        assertThat(stepsAfter).isLessThanOrEqualTo(2);

        JsonNode view = JSON.readTree(status(id).body());
        assertThat(view.path("status").asText()).isEqualTo("cancelled");
        assertThat(view.path("reason").asText()).isEqualTo("cancelled while running: user pressed stop");
        await(() -> hookBodies.stream().anyMatch(b -> b.contains(id) && b.contains("\"job.cancelled\"")),
                "the job.cancelled webhook");
        // Final: a second DELETE is refused, naming the status.
        HttpResponse<String> again = delete(id, null);
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(again.body()).path("status").asText()).isEqualTo("cancelled");
    }

    @Test
    void queuedJobIsAnsweredCancelledWithoutEverStarting() throws Exception {
        // One job at a time (easel.worker.concurrency=1): while the blocker runs, the next waits queued.
        String blocker = "cancel-blocker-" + UUID.randomUUID();
        assertThat(post(slowJob(blocker, "")).statusCode()).isEqualTo(202);
        awaitEvent(blocker, JobEvents.STARTED);
        String id = "cancel-queued-" + UUID.randomUUID();
        assertThat(post(quickJob(id)).statusCode()).isEqualTo(202);

        HttpResponse<String> deleted = delete(id, null);

        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(202);
        assertThat(JSON.readTree(deleted.body()).path("status").asText()).isEqualTo("queued");
        await(() -> cancellations.reason("default", id).isPresent(), "the worker hears of the cancellation");
        // The blocker too, so the worker takes the queued job now rather than in seconds.
        assertThat(delete(blocker, null).statusCode()).isEqualTo(202);

        JsonNode data = JSON.readTree(awaitEvent(id, JobEvents.CANCELLED).value());
        assertThat(data.path("reason").asText()).isEqualTo("cancelled before it started: requested by its submitter");
        assertThat(events(id)).extracting(CancellationIT::type).containsExactly(JobEvents.CANCELLED);
        JsonNode view = JSON.readTree(status(id).body());
        assertThat(view.path("status").asText()).isEqualTo("cancelled");
        awaitEvent(blocker, JobEvents.CANCELLED);
    }

    @Test
    void unknownAndFinishedJobsCannotBeCancelled() throws Exception {
        HttpResponse<String> unknown = delete("cancel-unknown-" + UUID.randomUUID(), null);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).path("error").asText()).isEqualTo("not_found");
        assertThat(delete("..", null).statusCode()).isEqualTo(404);

        String id = "cancel-done-" + UUID.randomUUID();
        assertThat(post(quickJob(id)).statusCode()).isEqualTo(202);
        awaitEvent(id, JobEvents.COMPLETED);
        HttpResponse<String> done = delete(id, null);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(409);
        JsonNode body = JSON.readTree(done.body());
        assertThat(body.path("error").asText()).isEqualTo("conflict");
        assertThat(body.path("status").asText()).isEqualTo("completed");
        assertThat(JSON.readTree(status(id).body()).path("status").asText()).isEqualTo("completed");

        HttpResponse<String> tooLong = delete(id, "x".repeat(201));
        assertThat(tooLong.statusCode()).isEqualTo(400);
    }

    @Test
    void aWorkerStartedAfterACancellationStillKnowsIt() throws Exception {
        String id = "cancel-earlier-" + UUID.randomUUID();
        cancelQueue.cancel(new CancelRequest("default", id, "before the new worker", Instant.now())).get(30, TimeUnit.SECONDS);
        Cancellations fresh = new Cancellations();
        CancellationFeed late = new CancellationFeed(true, topics.control(), fresh,
                CancellationFeed.consumerFactory(kafka, "it-late-worker"), Clock.systemUTC());

        late.start();
        try {
            await(late::caughtUp, "the new worker's feed catches up");
            assertThat(fresh.reason("default", id)).hasValue("before the new worker");
        } finally {
            late.stop();
        }
        // This worker's own feed is caught up too, and says so.
        String ready = get("q/health/ready").body();
        assertThat(JSON.readTree(ready).path("checks").findValuesAsText("name")).contains("cancellations");
        for (JsonNode check : JSON.readTree(ready).path("checks")) {
            if (check.path("name").asText().equals("cancellations")) {
                assertThat(check.path("status").asText()).as(ready).isEqualTo("UP");
            }
        }
    }

    private static byte[] slowJob(String id, String extra) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.SLOW_MODEL + "\","
                + " \"prompt\": \"a red circle\", \"width\": 256, \"height\": 256, \"steps\": " + SLOW_STEPS
                + ", \"scheduler\": \"euler\", \"seed\": 7" + extra + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] quickJob(String id) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private HttpResponse<String> post(byte[] job) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs")).header(TestKeys.HEADER, TestKeys.DEFAULT).POST(HttpRequest.BodyPublishers.ofByteArray(job))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> delete(String id, String reason) throws Exception {
        String query = reason == null ? "" : "?reason=" + URLEncoder.encode(reason, StandardCharsets.UTF_8);
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id + query)).header(TestKeys.HEADER, TestKeys.DEFAULT).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> status(String id) throws Exception {
        return get("v1/jobs/" + id);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT).build(), HttpResponse.BodyHandlers.ofString());
    }

    private ConsumerRecord<byte[], byte[]> awaitEvent(String jobId, String type) {
        List<ConsumerRecord<byte[], byte[]>> found = read(r -> jobId.equals(key(r)) && type.equals(type(r)), 1, WAIT);
        assertThat(found).as("%s of %s within %s", type, jobId, WAIT).hasSize(1);
        return found.get(0);
    }

    /** The job's events published so far, in order. */
    private List<ConsumerRecord<byte[], byte[]>> events(String jobId) {
        return read(r -> jobId.equals(key(r)), Integer.MAX_VALUE, Duration.ofSeconds(3));
    }

    private List<ConsumerRecord<byte[], byte[]>> read(Predicate<ConsumerRecord<byte[], byte[]>> wanted, int count,
                                                      Duration within) {
        return new TopicReader(bootstrap).read(topics.events(), wanted, count, within);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError(what + ": not within " + WAIT);
            }
            Thread.sleep(5);
        }
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    private static String type(ConsumerRecord<byte[], byte[]> record) {
        return header(record, "ce_type");
    }

    private static Instant time(ConsumerRecord<byte[], byte[]> record) {
        return Instant.parse(header(record, "ce_time"));
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
