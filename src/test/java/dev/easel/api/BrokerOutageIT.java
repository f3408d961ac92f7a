package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.JobEvents;
import dev.easel.devstack.LocalStack;
import dev.easel.testing.TestKeys;
import dev.easel.testing.TopicReader;
import dev.easel.worker.WorkerStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The HTTP ways in while the broker is down (stopped for real, then started again on the same port
 * and data): {@code POST /v1/jobs} answers 503 {@code not_queued} and leaves no job behind, a pushed
 * job answers 503 {@code unanswered} once its retry budget is spent; neither answer carries the
 * broker's own message. Once the broker is back, readiness comes back by itself (no job needed), and
 * the same submissions are answered, each exactly once.
 */
@QuarkusTest
@WithTestResource(BrokerOutageIT.Stack.class)
class BrokerOutageIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** The local stack, kept where the test can stop its broker; short timeouts so the outage is answered soon. */
    public static final class Stack extends WorkerStack {
        static volatile LocalStack running;

        @Override
        protected void configure(LocalStack stack, Map<String, String> config) {
            running = stack;
            config.put("easel.worker.publish-timeout", "5s");
            config.put("easel.worker.retry-budget", "15s");
        }
    }

    private final HttpClient http = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    @Inject
    TopicsConfig topics;

    @Test
    void submissionsDuringAnOutageAre503WithoutDetailAndAnsweredOnceAfterIt() throws Exception {
        String before = "outage-before-" + UUID.randomUUID();
        assertThat(post("v1/jobs", job(before), Map.of()).statusCode()).isEqualTo(202);
        awaitStatus(before, "completed");

        String posted = "outage-posted-" + UUID.randomUUID();
        String pushed = "outage-pushed-" + UUID.randomUUID();
        Map<String, String> event = cloudEvent(UUID.randomUUID().toString());
        assertThat(Stack.running.stopKafka()).as("the broker stopped (its exit status)").isNotEqualTo(-1);
        try {
            HttpResponse<String> refused = post("v1/jobs", job(posted), Map.of());
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            JsonNode body = JSON.readTree(refused.body());
            assertThat(body.path("error").asText()).isEqualTo("not_queued");
            assertThat(body.path("id").asText()).isEqualTo(posted);
            assertThat(body.path("reason").asText()).isEqualTo("the broker did not take the job; try again");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
            // Not queued: no job for GET to report, though its pointer was written before the broker refused.
            assertThat(get("v1/jobs/" + posted).statusCode()).isEqualTo(404);

            HttpResponse<String> unanswered = post("", job(pushed), event);
            assertThat(unanswered.statusCode()).as(unanswered.body()).isEqualTo(503);
            JsonNode pushBody = JSON.readTree(unanswered.body());
            assertThat(pushBody.path("error").asText()).isEqualTo("unanswered");
            assertThat(pushBody.path("reason").asText()).isEqualTo(PushResource.UNANSWERED);
            assertThat(unanswered.headers().firstValue("Retry-After")).hasValue("5");
            assertThat(answersCheck()).as("readiness while answers are refused").isEqualTo("DOWN");
        } finally {
            Stack.running.restartKafka();
        }
        // Nothing has been answered since: in push mode nothing would come to a worker that is not
        // ready. The check's own probe finds the broker back.
        long until = System.nanoTime() + WAIT.toNanos();
        while (!"UP".equals(answersCheck()) && System.nanoTime() < until) {
            Thread.sleep(500);
        }
        assertThat(answersCheck()).as("readiness once the broker is back, with no job since").isEqualTo("UP");

        assertThat(post("v1/jobs", job(posted), Map.of()).statusCode()).isEqualTo(202);
        awaitStatus(posted, "completed");
        HttpResponse<String> redelivered = post("", job(pushed), event);
        assertThat(redelivered.statusCode()).as(redelivered.body()).isEqualTo(200);
        assertThat(JSON.readTree(redelivered.body()).at("/images/0/objectKey").asText())
                .isEqualTo("default/" + pushed + "/0.png");

        for (String id : List.of(before, posted, pushed)) {
            // Read past the last answer: a second completed event, were there one, would be among these.
            List<ConsumerRecord<byte[], byte[]>> completed = new TopicReader(bootstrap).read(topics.events(),
                    r -> id.equals(key(r)) && JobEvents.COMPLETED.equals(header(r, "ce_type")), 2, Duration.ofSeconds(10));
            assertThat(completed).as("completed events of %s", id).hasSize(1);
        }
    }

    /** The status of readiness's answers check (BrokerHealth). */
    private String answersCheck() throws Exception {
        JsonNode ready = JSON.readTree(get("q/health/ready").body());
        for (JsonNode check : ready.path("checks")) {
            if ("answers".equals(check.path("name").asText())) {
                return check.path("status").asText();
            }
        }
        throw new AssertionError("no answers check in " + ready);
    }

    private void awaitStatus(String id, String wanted) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        String seen = null;
        while (System.nanoTime() < until) {
            HttpResponse<String> got = get("v1/jobs/" + id);
            seen = got.statusCode() == 200 ? JSON.readTree(got.body()).path("status").asText() : got.body();
            if (wanted.equals(seen)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " not " + wanted + ": " + seen);
    }

    private static Map<String, String> cloudEvent(String eventId) {
        Map<String, String> headers = new HashMap<>();
        headers.put("ce-specversion", "1.0");
        headers.put("ce-id", eventId);
        headers.put("ce-source", "/apis/v1/namespaces/easel/kafkasources/jobs#easel.jobs");
        headers.put("ce-type", "dev.knative.kafka.event");
        return headers;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, byte[] body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] job(String id) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\","
                + " \"width\": 64, \"height\": 64, \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
