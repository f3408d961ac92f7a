package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import com.sun.net.httpserver.HttpServer;
import dev.easel.config.TopicsConfig;
import dev.easel.messaging.DeadLetters;
import dev.easel.contract.JobEvents;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import dev.easel.testing.LogCapture;
import dev.easel.testing.TopicReader;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One job end to end: Kafka in, the oracle model, S3 out, CloudEvents and a signed webhook back;
 * and what operations see of it: health, metrics, the job's log lines.
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class WorkerIT {

    static final String SIGNING_SECRET = "whsec_d29ya2VyLWl0LXNpZ25pbmctc2VjcmV0LTAxMjM0NTY3ODk=";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(45);

    private static HttpServer receiver;
    private static LogCapture logs;
    private final HttpClient http = HttpClient.newHttpClient();
    private static final List<Map<String, List<String>>> hookHeaders = new CopyOnWriteArrayList<>();
    private static final List<String> hookBodies = new CopyOnWriteArrayList<>();

    @Inject
    TopicsConfig topics;
    @Inject
    ObjectStore store;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;
    @TestHTTPResource("/")
    URI base;

    @BeforeAll
    static void startReceiver() throws Exception {
        logs = LogCapture.of("dev.easel");
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            hookBodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            hookHeaders.add(new HashMap<>(exchange.getRequestHeaders()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterAll
    static void stopReceiver() {
        logs.close();
        if (receiver != null) { // null when Quarkus failed to start before it
            receiver.stop(0);
        }
    }

    @Test
    void jobCompletesWithImageInS3AndSignedWebhook() throws Exception {
        String id = "it-ok-" + UUID.randomUUID();
        String hook = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        produce(id, job(id, 64, "\"webhook\": {\"url\": \"" + hook + "\", \"events\": [\"started\", \"completed\"]}"));

        ConsumerRecord<byte[], byte[]> completed = awaitEvent(id, JobEvents.COMPLETED, 1).get(0);
        List<ConsumerRecord<byte[], byte[]>> started = events(id, JobEvents.STARTED);
        assertThat(started).hasSize(1);
        assertThat(started.get(0).offset()).isLessThan(completed.offset());

        JsonNode data = JSON.readTree(completed.value());
        assertThat(data.path("bucket").asText()).isEqualTo(WorkerStack.BUCKET);
        assertThat(data.path("modelId").asText()).isEqualTo(WorkerStack.MODEL);
        assertThat(data.at("/images/0/seed").asLong()).isEqualTo(7);
        assertThat(data.at("/images/0/url").asText()).contains("X-Amz-Signature");
        assertThat(data.path("timingsMs").path("total").asLong()).isPositive();
        String key = data.at("/images/0/objectKey").asText();
        assertThat(key).isEqualTo("default/" + id + "/0.png");
        StoredObject png = store.get(WorkerStack.BUCKET, key, 1 << 20).orElseThrow();
        assertThat(png.contentType()).isEqualTo("image/png");
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png.bytes()));
        assertThat(image.getWidth()).isEqualTo(64);
        assertThat(image.getHeight()).isEqualTo(64);
        assertThat(store.exists(WorkerStack.BUCKET, "default/" + id + "/result.json")).isTrue();

        // Webhooks go out beside the job, so the completed one may land just after the event.
        long until = System.nanoTime() + WAIT.toNanos();
        while (hookBodies.stream().noneMatch(b -> b.contains(id) && b.contains("job.completed"))
                && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        Webhook verifier = new Webhook(SIGNING_SECRET);
        List<String> types = new ArrayList<>();
        for (int i = 0; i < hookBodies.size(); i++) {
            JsonNode body = JSON.readTree(hookBodies.get(i));
            if (body.path("jobId").asText().equals(id)) {
                verifier.verify(hookBodies.get(i), hookHeaders.get(i));
                types.add(body.path("type").asText());
            }
        }
        assertThat(types).containsExactly("job.started", "job.completed");

        HttpResponse<String> metrics = get("q/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
        assertThat(metrics.body()).containsPattern("easel_jobs_total\\{outcome=\"completed\"} [1-9]")
                .containsPattern("easel_job_stage_seconds_count\\{model=\"oracle\",stage=\"denoise\"} [1-9]")
                .contains("easel_jobs_in_flight ", "easel_model_ready{model=\"oracle\"} 1.0", "jvm_memory_used_bytes");
        // The completed hook (its attempt is counted once it returns) may still be on its way.
        assertThat(awaitBody("q/metrics", b -> b.contains("easel_webhook_attempts_total{outcome=\"delivered\"}")))
                .doesNotContain("easel_webhook_attempts_total{outcome=\"delivered\"} 0.0");
        assertThat(logs.records(r -> r.getFormattedMessage().startsWith("job " + id + " completed"))).singleElement()
                .satisfies(r -> assertThat(r.getMdcCopy()).containsEntry("jobId", id).containsEntry("model", WorkerStack.MODEL));
    }

    @Test
    void readinessWaitsForTheModelAndLivenessAnswers() throws Exception {
        String ready = awaitBody("q/health/ready", b -> b.contains("\"status\": \"UP\"") || b.contains("\"status\":\"UP\""));

        JsonNode checks = JSON.readTree(ready).path("checks");
        assertThat(checks.findValuesAsText("name")).contains("models");
        for (JsonNode check : checks) {
            assertThat(check.path("status").asText()).as(ready).isEqualTo("UP");
            if (check.path("name").asText().equals("models")) {
                assertThat(check.at("/data/" + WorkerStack.MODEL).asText()).startsWith("loaded in ");
            }
        }
        HttpResponse<String> live = get("q/health/live");
        assertThat(live.statusCode()).as(live.body()).isEqualTo(200);
        assertThat(JSON.readTree(live.body()).path("status").asText()).isEqualTo("UP");
    }

    @Test
    void invalidJobFailsNamingTheFieldAndIsDeadLettered() throws Exception {
        String id = "it-bad-" + UUID.randomUUID();
        produce(id, job(id, 100, null));

        JsonNode failed = JSON.readTree(awaitEvent(id, JobEvents.FAILED, 1).get(0).value());
        assertThat(failed.path("retryable").asBoolean()).isFalse();
        assertThat(failed.path("violations").findValuesAsText("field")).contains("width");
        ConsumerRecord<byte[], byte[]> dead = await(topics.deadLetters(), r -> id.equals(key(r)), 1).get(0);
        assertThat(header(dead, DeadLetters.REASON)).contains("width");

        String good = "it-after-bad-" + UUID.randomUUID();
        produce(good, job(good, 64, null));
        awaitEvent(good, JobEvents.COMPLETED, 1);
    }

    @Test
    void redeliveredJobIsAnsweredFromItsManifestWithoutRewritingImages() throws Exception {
        String id = "it-again-" + UUID.randomUUID();
        byte[] job = job(id, 64, null);
        produce(id, job);
        awaitEvent(id, JobEvents.COMPLETED, 1);
        // A marker in place of the image: a second run would overwrite it.
        byte[] marker = "not rewritten".getBytes(StandardCharsets.UTF_8);
        store.put(WorkerStack.BUCKET, "default/" + id + "/0.png", marker, "image/png", Map.of());

        produce(id, job);

        List<ConsumerRecord<byte[], byte[]>> completed = awaitEvent(id, JobEvents.COMPLETED, 2);
        assertThat(JSON.readTree(completed.get(1).value()).at("/images/0/objectKey").asText()).isEqualTo("default/" + id + "/0.png");
        assertThat(events(id, JobEvents.STARTED)).hasSize(1);
        assertThat(store.get(WorkerStack.BUCKET, "default/" + id + "/0.png", 1 << 20).orElseThrow().bytes()).isEqualTo(marker);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The body of {@code path} once it satisfies {@code wanted} (failing after {@link #WAIT} with the last one). */
    private String awaitBody(String path, Predicate<String> wanted) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        String body = get(path).body();
        while (!wanted.test(body) && System.nanoTime() < until) {
            Thread.sleep(200);
            body = get(path).body();
        }
        assertThat(wanted).as("%s within %s: %s", path, WAIT, body).accepts(body);
        return body;
    }

    private static byte[] job(String id, int width, String extra) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\","
                + " \"width\": " + width + ", \"height\": 64, \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7"
                + (extra == null ? "" : ", " + extra) + "}").getBytes(StandardCharsets.UTF_8);
    }

    private void produce(String key, byte[] value) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topics.jobs(), key.getBytes(StandardCharsets.UTF_8), value)).get();
        }
    }

    private List<ConsumerRecord<byte[], byte[]>> awaitEvent(String jobId, String type, int count) {
        return await(topics.events(), r -> jobId.equals(key(r)) && type.equals(header(r, "ce_type")), count);
    }

    /** The events of that type for the job published so far. */
    private List<ConsumerRecord<byte[], byte[]>> events(String jobId, String type) {
        return read(topics.events(), r -> jobId.equals(key(r)) && type.equals(header(r, "ce_type")), Integer.MAX_VALUE,
                Duration.ofSeconds(3));
    }

    private List<ConsumerRecord<byte[], byte[]>> await(String topic, Predicate<ConsumerRecord<byte[], byte[]>> wanted,
                                                       int count) {
        List<ConsumerRecord<byte[], byte[]>> found = read(topic, wanted, count, WAIT);
        assertThat(found).as("records on %s within %s", topic, WAIT).hasSize(count);
        return found;
    }

    /** Reads the topic from the start until {@code count} wanted records or the time is up. */
    private List<ConsumerRecord<byte[], byte[]>> read(String topic, Predicate<ConsumerRecord<byte[], byte[]>> wanted,
            int count, Duration within) {
        return new TopicReader(bootstrap).read(topic, wanted, count, within);
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
