package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testing.TestKeys;
import dev.easel.worker.WorkerStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/jobs/{id}/events} against the real stack: the worker publishes on the events topic,
 * this process's feed reads it back, and the stream carries it to an HTTP client.
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class JobEventsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final HttpClient http = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @Test
    void streamFollowsAQueuedJobToItsCompletionAndEnds() throws Exception {
        blockTheWorker();
        String id = "sse-" + UUID.randomUUID();
        assertThat(post(job(id, WorkerStack.MODEL, 64, 4)).statusCode()).isEqualTo(202);

        HttpResponse<Stream<String>> stream = open(id);

        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(stream.headers().firstValue("X-Accel-Buffering")).hasValue("no");
        List<Event> events = readToEnd(stream);
        List<String> names = events.stream().map(Event::name).toList();
        assertThat(names.get(0)).isEqualTo("state");
        String state = JSON.readTree(events.get(0).data()).path("status").asText();
        assertThat(state).as("the blocker still runs, so the job waits").isEqualTo("queued");
        assertThat(String.join(" ", names)).matches("state started( progress)+ completed");
        assertThat(events.subList(1, events.size())).allSatisfy(e -> assertThat(e.id()).isNotBlank());
        JsonNode progress = JSON.readTree(events.get(names.lastIndexOf("progress")).data());
        assertThat(progress.path("step").asInt()).isEqualTo(4);
        assertThat(progress.path("total").asInt()).isEqualTo(4);
        JsonNode completed = JSON.readTree(events.get(events.size() - 1).data());
        assertThat(completed.at("/images/0/objectKey").asText()).isEqualTo("default/" + id + "/0.png");
        assertThat(completed.at("/images/0/url").asText()).contains("X-Amz-Signature");
    }

    @Test
    void clientArrivingAfterTheEndGetsTheFinalStateAndTheStreamEnds() throws Exception {
        String id = "sse-late-" + UUID.randomUUID();
        assertThat(post(job(id, WorkerStack.MODEL, 64, 2)).statusCode()).isEqualTo(202);
        awaitStatus(id, "completed");

        List<Event> events = readToEnd(open(id));

        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.name()).isEqualTo("state");
            JsonNode view = JSON.readTree(e.data());
            assertThat(view.path("status").asText()).isEqualTo("completed");
            assertThat(view.at("/images/0/url").asText()).contains("X-Amz-Signature");
        });
    }

    /**
     * A tenant's open streams are bounded (%test: easel.sse.max-streams-per-tenant=5), others' are
     * not touched. Tenant gamma follows only this test's job here.
     */
    @Test
    void aTenantPastItsOpenStreamsIsRefusedWith429() throws Exception {
        String blocker = blockTheWorker();
        String id = "sse-bound-" + UUID.randomUUID();
        assertThat(post(job(id, WorkerStack.MODEL, 64, 2), TestKeys.GAMMA).statusCode()).isEqualTo(202);

        List<HttpResponse<Stream<String>>> open = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            open.add(open(id, TestKeys.GAMMA));
        }
        HttpResponse<String> refused = http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id + "/events"))
                .header(TestKeys.HEADER, TestKeys.GAMMA).header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<Stream<String>> otherTenant = open(blocker);

        assertThat(open).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        JsonNode body = JSON.readTree(refused.body());
        assertThat(body.path("error").asText()).isEqualTo("too_many_streams");
        assertThat(body.path("reason").asText()).contains("5 event streams").contains("easel.sse.max-streams-per-tenant");
        assertThat(otherTenant.statusCode()).isEqualTo(200);
        // Every open stream still gets the job's answer, and ends with it.
        for (HttpResponse<Stream<String>> stream : open) {
            assertThat(readToEnd(stream)).last().extracting(Event::name).isEqualTo("completed");
        }
        readToEnd(otherTenant);
    }

    @Test
    void unknownJobIsNotFound() throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                        base.resolve("v1/jobs/sse-unknown-" + UUID.randomUUID() + "/events"))
                .header(TestKeys.HEADER, TestKeys.DEFAULT).header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(response.body()).path("error").asText()).isEqualTo("not_found");
    }

    /**
     * One job at a time (easel.worker.concurrency=1): while this slow job runs, the next waits queued.
     *
     * @return the slow job's id, once it runs
     */
    private String blockTheWorker() throws Exception {
        String blocker = "sse-blocker-" + UUID.randomUUID();
        assertThat(post(job(blocker, WorkerStack.SLOW_MODEL, 256, 40)).statusCode()).isEqualTo(202);
        awaitStatus(blocker, "running");
        return blocker;
    }

    /** One server-sent event; comment lines (heartbeats) are not events. */
    record Event(String name, String id, String data) {
    }

    private HttpResponse<Stream<String>> open(String id) throws Exception {
        return open(id, TestKeys.DEFAULT);
    }

    private HttpResponse<Stream<String>> open(String id, String key) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id + "/events")).header(TestKeys.HEADER, key)
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines());
    }

    /** The stream's events until the server ends it; fails if it does not within {@link #WAIT}. */
    private static List<Event> readToEnd(HttpResponse<Stream<String>> response) throws Exception {
        CompletableFuture<List<Event>> read = CompletableFuture.supplyAsync(() -> {
            List<Event> events = new ArrayList<>();
            String[] fields = new String[3];
            StringBuilder data = new StringBuilder();
            try (Stream<String> lines = response.body()) {
                lines.forEach(line -> {
                    if (line.isEmpty()) {
                        if (fields[0] != null || data.length() > 0) {
                            events.add(new Event(fields[0], fields[1], data.toString()));
                        }
                        fields[0] = null;
                        fields[1] = null;
                        data.setLength(0);
                    } else if (line.startsWith("event:")) {
                        fields[0] = line.substring(6).strip();
                    } else if (line.startsWith("id:")) {
                        fields[1] = line.substring(3).strip();
                    } else if (line.startsWith("data:")) {
                        data.append(data.length() > 0 ? "\n" : "").append(line.substring(5).strip());
                    }
                });
            }
            return events;
        });
        return read.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private void awaitStatus(String id, String status) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        String seen = null;
        while (System.nanoTime() < until) {
            HttpResponse<String> got = http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).header(TestKeys.HEADER, TestKeys.DEFAULT).build(),
                    HttpResponse.BodyHandlers.ofString());
            seen = got.statusCode() == 200 ? JSON.readTree(got.body()).path("status").asText() : got.body();
            if (status.equals(seen)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("job " + id + " not " + status + " within " + WAIT + ": " + seen);
    }

    private HttpResponse<String> post(byte[] job) throws Exception {
        return post(job, TestKeys.DEFAULT);
    }

    private HttpResponse<String> post(byte[] job, String key) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs")).header(TestKeys.HEADER, key).POST(HttpRequest.BodyPublishers.ofByteArray(job))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] job(String id, String model, int size, int steps) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + model + "\", \"prompt\": \"a red circle\","
                + " \"width\": " + size + ", \"height\": " + size + ", \"steps\": " + steps
                + ", \"scheduler\": \"euler\", \"seed\": 7}").getBytes(StandardCharsets.UTF_8);
    }
}
