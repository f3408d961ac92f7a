package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testing.TestKeys;
import dev.easel.store.ObjectStore;
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
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The HTTP API against the real local stack: submit, poll, fetch; bad and unknown jobs; push mode. */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class ApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final Duration WAIT = Duration.ofSeconds(45);

    private final HttpClient http = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;
    @Inject
    ObjectStore store;

    @Test
    void submittedJobCompletesWithFetchablePng() throws Exception {
        String id = "api-ok-" + UUID.randomUUID();
        HttpResponse<String> posted = post("v1/jobs", job(id, 64), Map.of("Content-Type", "application/json"));

        assertThat(posted.statusCode()).isEqualTo(202);
        JsonNode accepted = JSON.readTree(posted.body());
        assertThat(accepted.path("id").asText()).isEqualTo(id);
        assertThat(accepted.path("status").asText()).isEqualTo("queued");
        assertThat(accepted.path("statusUrl").asText()).isEqualTo("/v1/jobs/" + id);
        assertThat(posted.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).endsWith("/v1/jobs/" + id));

        JsonNode done = awaitCompleted(id);
        assertThat(done.path("model").asText()).isEqualTo(WorkerStack.MODEL);
        assertThat(done.at("/images/0/seed").asLong()).isEqualTo(7);
        HttpResponse<byte[]> image = http.send(HttpRequest.newBuilder(URI.create(done.at("/images/0/url").asText())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(Arrays.copyOf(image.body(), PNG_SIGNATURE.length)).isEqualTo(PNG_SIGNATURE);
    }

    @Test
    void rePostingACompletedJobDoesNotRunItAgain() throws Exception {
        String id = "api-again-" + UUID.randomUUID();
        assertThat(post("v1/jobs", job(id, 64), Map.of()).statusCode()).isEqualTo(202);
        String completedAt = awaitCompleted(id).path("completedAt").asText();

        HttpResponse<String> again = post("v1/jobs", job(id, 64), Map.of());

        assertThat(again.statusCode()).isEqualTo(202);
        assertThat(JSON.readTree(again.body()).path("status").asText()).isEqualTo("completed");
        Thread.sleep(2000); // room for a second run, were one queued
        JsonNode after = JSON.readTree(get("v1/jobs/" + id).body());
        assertThat(after.path("completedAt").asText()).isEqualTo(completedAt);
    }

    @Test
    void badJobIsRejectedNamingTheField() throws Exception {
        HttpResponse<String> posted = post("v1/jobs", job("api-bad", 100), Map.of());

        assertThat(posted.statusCode()).isEqualTo(400);
        JsonNode body = JSON.readTree(posted.body());
        assertThat(body.path("error").asText()).isEqualTo("invalid_job");
        assertThat(body.path("violations").findValuesAsText("field")).containsExactly("width");
        assertThat(get("v1/jobs/api-bad").statusCode()).isEqualTo(404);
    }

    @Test
    void modelsDescribeThemselves() throws Exception {
        HttpResponse<String> models = get("v1/models");
        assertThat(models.statusCode()).isEqualTo(200);
        JsonNode first = JSON.readTree(models.body()).at("/models/0");
        assertThat(first.path("state").asText()).isEqualTo("loaded");
        assertThat(first.path("kind").asText()).startsWith("SD");
        assertThat(first.at("/defaults/width").asInt()).isPositive();
        assertThat(first.at("/limits/sizeMultiple").asInt()).isEqualTo(8);
        assertThat(first.at("/capabilities/schedulers").isArray()).isTrue();
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(base.resolve("v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }

    @Test
    void unknownJobIsNotFound() throws Exception {
        assertThat(get("v1/jobs/api-unknown-" + UUID.randomUUID()).statusCode()).isEqualTo(404);
        assertThat(get("v1/jobs/..").statusCode()).isEqualTo(404);
    }

    @Test
    void binaryCloudEventRunsTheJobBeforeAnswering() throws Exception {
        String id = "api-push-" + UUID.randomUUID();
        HttpResponse<String> pushed = post("", job(id, 64), Map.of("Content-Type", "application/json",
                "ce-specversion", "1.0", "ce-id", UUID.randomUUID().toString(), "ce-source", "/apis/v1/kafkasource",
                "ce-type", "dev.knative.kafka.event", "ce-time", "2030-01-01T00:00:00Z"));

        assertThat(pushed.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(pushed.body()).at("/images/0/objectKey").asText()).isEqualTo("default/" + id + "/0.png");
        assertThat(store.exists(WorkerStack.BUCKET, "default/" + id + "/result.json")).isTrue();
        assertThat(store.exists(WorkerStack.BUCKET, "default/" + id + "/0.png")).isTrue();
    }

    @Test
    void requestThatIsNoCloudEventIsRefused() throws Exception {
        HttpResponse<String> pushed = post("", "[1]".getBytes(StandardCharsets.UTF_8), Map.of("ce-specversion", "1.0"));

        assertThat(pushed.statusCode()).isEqualTo(400);
        assertThat(pushed.body()).contains("ce_id");
    }

    /**
     * docs/job-contract.md: push mode takes CloudEvents; a plain JSON body is not one. Its sender
     * does not retry a 400, so the worker counts it as a record that is no job.
     */
    @Test
    void pushWithoutCloudEventHeadersIsRefusedAndCounted() throws Exception {
        double before = deadLettered();

        HttpResponse<String> pushed = post("", job("api-push-plain", 64), Map.of("content-type", "application/json"));

        assertThat(pushed.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(pushed.body()).path("reason").asText()).contains("not a CloudEvent");
        assertThat(deadLettered()).isEqualTo(before + 1);
    }

    private double deadLettered() throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(base.resolve("q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("easel_jobs_total\\{outcome=\"dead_lettered\"} (\\S+)")
                .matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void theSameIdWithAnotherJobIsAConflict() throws Exception {
        String id = "api-conflict-" + UUID.randomUUID();
        assertThat(post("v1/jobs", job(id, 64), Map.of("content-type", "application/json")).statusCode()).isEqualTo(202);
        // The same job again is idempotent; another job under the id is not.
        assertThat(post("v1/jobs", job(id, 64), Map.of("content-type", "application/json")).statusCode()).isEqualTo(202);

        HttpResponse<String> other = post("v1/jobs", job(id, 128), Map.of("content-type", "application/json"));

        assertThat(other.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(other.body()).path("error").asText()).isEqualTo("conflict");
    }

    @Test
    void aNonJsonBodyIs415WithAJsonAnswer() throws Exception {
        HttpResponse<String> posted = post("v1/jobs", job("api-text", 64), Map.of("content-type", "text/plain"));

        assertThat(posted.statusCode()).isEqualTo(415);
        assertThat(JSON.readTree(posted.body()).path("error").asText()).isEqualTo("unsupported_media_type");
    }

    @Test
    void aBodyOverTheLimitIs413WithAJsonAnswerNamingIt() throws Exception {
        // A 20 MB body announced, not sent: the answer comes before a byte of it is read.
        String response;
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 20971520\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            // The status line, headers and the body by its Content-Length: the server need not close the connection.
            java.io.InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                head.append((char) b);
            }
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            int bytes = length.find() ? Integer.parseInt(length.group(1)) : 0;
            response = head + new String(in.readNBytes(bytes), StandardCharsets.UTF_8);
        }

        assertThat(response).startsWith("HTTP/1.1 413");
        JsonNode body = JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
        assertThat(body.path("error").asText()).isEqualTo("payload_too_large");
        assertThat(body.path("limit").asText()).contains("max-body-size");
    }

    private JsonNode awaitCompleted(String id) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        JsonNode view = null;
        while (System.nanoTime() < until) {
            HttpResponse<String> got = get("v1/jobs/" + id);
            assertThat(got.statusCode()).as(got.body()).isEqualTo(200);
            view = JSON.readTree(got.body());
            assertThat(view.path("status").asText()).as(got.body()).isIn("queued", "running", "completed");
            if (view.path("status").asText().equals("completed")) {
                return view;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + id + " not completed within " + WAIT + ": " + view);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, byte[] body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] job(String id, int width) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\","
                + " \"width\": " + width + ", \"height\": 64, \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
