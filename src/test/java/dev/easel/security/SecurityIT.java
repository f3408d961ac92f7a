package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.TopicsConfig;
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
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/** Credentials and tenants on every way in, against the real Kafka and S3 of the local stack. */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class SecurityIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final HttpClient http = HttpClient.newHttpClient();
    @TestHTTPResource("/")
    URI base;
    @Inject
    TopicsConfig topics;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    @Test
    void everyJobEndpointNeedsACredentialAndHealthDoesNot() throws Exception {
        String id = "sec-" + UUID.randomUUID();
        List<HttpResponse<String>> answers = new ArrayList<>();
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs")).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(job(id, ""))), null));
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)), null));
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id + "/events")), null));
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).DELETE(), null));
        answers.add(send(HttpRequest.newBuilder(base).header("ce-specversion", "1.0").header("ce-id", id)
                .header("ce-source", "/test").header("ce-type", "dev.easel.job.requested")
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(job(id, ""))), null));
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)), "easel_not-a-key-of-anyone"));
        answers.add(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).header("Authorization", "Bearer x.y.z"),
                null));

        assertThat(answers).allSatisfy(answer -> {
            assertThat(answer.statusCode()).as(answer.request().method() + " " + answer.uri()).isEqualTo(401);
            assertThat(JSON.readTree(answer.body()).path("error").asText()).isEqualTo("unauthorized");
            assertThat(answer.body()).doesNotContain("easel_not-a-key-of-anyone");
        });
        assertThat(send(HttpRequest.newBuilder(base.resolve("q/health/live")), null).statusCode()).isEqualTo(200);
        // Nothing was queued by the refused submissions.
        assertThat(new TopicReader(bootstrap).read(topics.events(), r -> id.equals(key(r)), 1, Duration.ofSeconds(3)))
                .isEmpty();
    }

    /**
     * Other spellings of push mode's path and of the API's reach no job without a credential:
     * neither as the tenant an event's easeltopic names nor as anyone.
     */
    @Test
    void otherSpellingsOfTheJobPathsNeedACredentialToo() throws Exception {
        String id = "sec-path-" + UUID.randomUUID();
        String authority = base.getScheme() + "://" + base.getRawAuthority();
        for (String path : List.of("//", "/;x", "/./", "//v1/jobs", "/v1//jobs", "/v1/./jobs", "/%2Fv1/jobs")) {
            HttpResponse<String> answer = send(HttpRequest.newBuilder(URI.create(authority + path))
                    .header("ce-specversion", "1.0").header("ce-id", id).header("ce-source", "/test")
                    .header("ce-type", "dev.easel.job.requested").header("ce-easeltopic", "easel.jobs.tenant.acme")
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(job(id, ""))),
                    null);
            assertThat(answer.statusCode()).as("POST %s: %s", path, answer.body()).isIn(400, 401, 404, 405);
        }
        assertThat(get(TestKeys.ACME, "v1/jobs/" + id).statusCode()).isEqualTo(404);
        assertThat(new TopicReader(bootstrap).read(topics.events(), r -> id.equals(key(r)), 1, Duration.ofSeconds(3)))
                .isEmpty();
    }

    /** Job ids are per tenant: the same id is two jobs, and neither tenant can see, follow or cancel the other's. */
    @Test
    void tenantsNeverSeeEachOthersJobsEvenUnderTheSameId() throws Exception {
        String id = "sec-same-" + UUID.randomUUID();
        assertThat(post(TestKeys.ACME, job(id, ", \"seed\": 1")).statusCode()).isEqualTo(202);
        JsonNode acme = awaitCompleted(TestKeys.ACME, id);
        // The other tenant has not submitted it yet: to it the id is unknown, whichever way it asks.
        assertThat(get(TestKeys.DEFAULT, "v1/jobs/" + id).statusCode()).isEqualTo(404);
        assertThat(get(TestKeys.DEFAULT, "v1/jobs/" + id + "/events").statusCode()).isEqualTo(404);
        assertThat(send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).DELETE(), TestKeys.DEFAULT).statusCode())
                .isEqualTo(404);

        assertThat(post(TestKeys.DEFAULT, job(id, ", \"seed\": 2")).statusCode()).isEqualTo(202);
        JsonNode other = awaitCompleted(TestKeys.DEFAULT, id);

        assertThat(acme.at("/images/0/objectKey").asText()).isEqualTo("acme/" + id + "/0.png");
        assertThat(other.at("/images/0/objectKey").asText()).isEqualTo("default/" + id + "/0.png");
        assertThat(acme.path("seed").asLong()).isEqualTo(1);
        assertThat(other.path("seed").asLong()).isEqualTo(2);
        // A's answer is still A's own.
        assertThat(JSON.readTree(get(TestKeys.ACME, "v1/jobs/" + id).body()).path("seed").asLong()).isEqualTo(1);
    }

    /**
     * Two tenants granted one write prefix store jobs there under the same keys: the very same job
     * (id and fields) of one is neither shown to the other nor answered for it with the first's
     * images, presigned with the worker's credentials.
     */
    @Test
    void tenantsSharingAWritePrefixDoNotSeeEachOthersJobs() throws Exception {
        String id = "sec-shared-" + UUID.randomUUID();
        byte[] job = job(id, ", \"seed\": 3, \"output\": {\"bucket\": \"" + WorkerStack.BUCKET
                + "\", \"keyPrefix\": \"shared/\"}");
        assertThat(post(TestKeys.ACME, job).statusCode()).isEqualTo(202);
        JsonNode acme = awaitCompleted(TestKeys.ACME, id);
        assertThat(acme.at("/images/0/objectKey").asText()).isEqualTo("shared/" + id + "/0.png");

        HttpResponse<String> again = post(TestKeys.BETA, job);

        assertThat(again.statusCode()).as(again.body()).isEqualTo(409);
        assertThat(again.body()).doesNotContain("X-Amz-Signature").doesNotContain(id + "/0.png");
        assertThat(get(TestKeys.BETA, "v1/jobs/" + id).statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(get(TestKeys.ACME, "v1/jobs/" + id).body()).path("seed").asLong()).isEqualTo(3);
    }

    @Test
    void anInputImageOutsideTheTenantsGrantsIsRefusedBeforeAnyWork() throws Exception {
        String id = "sec-read-" + UUID.randomUUID();
        HttpResponse<String> answer = post(TestKeys.BETA, job(id,
                ", \"initImage\": \"s3://" + WorkerStack.BUCKET + "/acme/secret/0.png\", \"strength\": 0.5"));

        assertThat(answer.statusCode()).isEqualTo(400);
        JsonNode violation = JSON.readTree(answer.body()).path("violations").get(0);
        assertThat(violation.path("field").asText()).isEqualTo("initImage");
        assertThat(violation.path("limit").asText()).contains(WorkerStack.BUCKET + "/beta/");
        assertThat(get(TestKeys.BETA, "v1/jobs/" + id).statusCode()).isEqualTo(404);
    }

    @Test
    void anOutputOutsideTheTenantsGrantsIsRefused() throws Exception {
        HttpResponse<String> answer = post(TestKeys.BETA, job("sec-write-" + UUID.randomUUID(),
                ", \"output\": {\"bucket\": \"someone-elses-bucket\"}"));

        assertThat(answer.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(answer.body()).at("/violations/0/field").asText()).isEqualTo("output.bucket");
    }

    /** Beta may have 3 jobs in flight (application.properties, %test): the fourth at once is refused. */
    @Test
    void aBurstOverTheTenantsLimitIs429WithRetryAfter() throws Exception {
        List<String> ids = new ArrayList<>();
        HttpResponse<String> last = null;
        for (int i = 0; i < 4; i++) {
            String id = "sec-burst-" + i + "-" + UUID.randomUUID();
            ids.add(id);
            last = post(TestKeys.BETA, slowJob(id));
            if (i < 3) {
                assertThat(last.statusCode()).as(last.body()).isEqualTo(202);
            }
        }

        assertThat(last.statusCode()).isEqualTo(429);
        assertThat(last.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Long.parseLong(v))
                .isPositive());
        assertThat(JSON.readTree(last.body()).path("reason").asText()).contains("max-in-flight");
        for (String id : ids.subList(0, 3)) {
            send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).DELETE(), TestKeys.BETA);
        }
        // Beta may submit again once its jobs are answered (the event feed sees their answers).
        long until = System.nanoTime() + WAIT.toNanos();
        HttpResponse<String> again = post(TestKeys.BETA, job("sec-after-burst-" + UUID.randomUUID(), ""));
        while (again.statusCode() == 429 && System.nanoTime() < until) {
            Thread.sleep(500);
            again = post(TestKeys.BETA, job("sec-after-burst-" + UUID.randomUUID(), ""));
        }
        assertThat(again.statusCode()).as(again.body()).isEqualTo(202);
    }

    /**
     * POST / with a key runs the job at once on this worker: it takes the tenant's place in flight
     * as POST /v1/jobs does (gamma: 1), and gives it back with its answer.
     */
    @Test
    void aPushWithAKeyHoldsThePlaceInFlightOfPostV1Jobs() throws Exception {
        String running = "sec-push-running-" + UUID.randomUUID();
        String eventId = UUID.randomUUID().toString();
        var first = http.sendAsync(push(TestKeys.GAMMA, slowJob(running), eventId), HttpResponse.BodyHandlers.ofString());
        long until = System.nanoTime() + WAIT.toNanos();
        while (!"running".equals(status(TestKeys.GAMMA, running)) && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        assertThat(status(TestKeys.GAMMA, running)).isEqualTo("running");

        // Another job under the first's CloudEvent source and id: the sender chooses those, so they hold no place.
        HttpResponse<String> second = http.send(push(TestKeys.GAMMA, job("sec-push-second-" + UUID.randomUUID(), ""),
                eventId), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> posted = post(TestKeys.GAMMA, job("sec-push-posted-" + UUID.randomUUID(), ""));

        assertThat(second.statusCode()).as(second.body()).isEqualTo(429);
        assertThat(second.headers().firstValue("Retry-After")).isPresent();
        assertThat(JSON.readTree(second.body()).path("reason").asText()).contains("max-in-flight");
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(429);
        send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + running)).DELETE(), TestKeys.GAMMA);
        assertThat(first.get(60, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        HttpResponse<String> after = http.send(push(TestKeys.GAMMA, job("sec-push-after-" + UUID.randomUUID(), ""),
                UUID.randomUUID().toString()), HttpResponse.BodyHandlers.ofString());
        assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    }

    private HttpRequest push(String key, byte[] job, String eventId) {
        return HttpRequest.newBuilder(base).header(TestKeys.HEADER, key).header("content-type", "application/json")
                .header("ce-specversion", "1.0").header("ce-id", eventId)
                .header("ce-source", "/security-it").header("ce-type", "dev.easel.job")
                .timeout(Duration.ofSeconds(90)).POST(HttpRequest.BodyPublishers.ofByteArray(job)).build();
    }

    private String status(String key, String id) throws Exception {
        HttpResponse<String> got = get(key, "v1/jobs/" + id);
        return got.statusCode() == 200 ? JSON.readTree(got.body()).path("status").asText() : "http " + got.statusCode();
    }

    /**
     * A re-post of a completed job is answered from its manifest at once, and no event will come to
     * free a place in flight: gamma (1 job in flight) can still submit after re-posting one.
     */
    @Test
    void rePostingACompletedJobHoldsNoPlaceInFlight() throws Exception {
        String done = "sec-repost-" + UUID.randomUUID();
        assertThat(post(TestKeys.GAMMA, job(done, "")).statusCode()).isEqualTo(202);
        awaitCompleted(TestKeys.GAMMA, done);

        long until = System.nanoTime() + WAIT.toNanos();
        HttpResponse<String> next;
        do { // until the event feed has seen the first job's answer and freed its place
            HttpResponse<String> again = post(TestKeys.GAMMA, job(done, ""));
            assertThat(again.statusCode()).as(again.body()).isEqualTo(202);
            assertThat(JSON.readTree(again.body()).path("status").asText()).isEqualTo("completed");
            next = post(TestKeys.GAMMA, job("sec-after-repost-" + UUID.randomUUID(), ""));
            if (next.statusCode() == 429) {
                Thread.sleep(500);
            }
        } while (next.statusCode() == 429 && System.nanoTime() < until);
        assertThat(next.statusCode()).as(next.body()).isEqualTo(202);
    }

    private JsonNode awaitCompleted(String key, String id) throws Exception {
        long until = System.nanoTime() + WAIT.toNanos();
        JsonNode view = null;
        while (System.nanoTime() < until) {
            HttpResponse<String> got = get(key, "v1/jobs/" + id);
            if (got.statusCode() == 200) {
                view = JSON.readTree(got.body());
                if ("completed".equals(view.path("status").asText())) {
                    return view;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + id + " not completed within " + WAIT + ": " + view);
    }

    private HttpResponse<String> post(String key, byte[] job) throws Exception {
        return send(HttpRequest.newBuilder(base.resolve("v1/jobs")).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(job)), key);
    }

    private HttpResponse<String> get(String key, String path) throws Exception {
        return send(HttpRequest.newBuilder(base.resolve(path)), key);
    }

    private HttpResponse<String> send(HttpRequest.Builder request, String key) throws Exception {
        if (key != null) {
            request.header(TestKeys.HEADER, key);
        }
        return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] job(String id, String extra) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red"
                + " circle\", \"width\": 64, \"height\": 64, \"steps\": 2" + extra + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] slowJob(String id) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.SLOW_MODEL + "\", \"prompt\": \"a"
                + " red circle\", \"width\": 256, \"height\": 256, \"steps\": 100}").getBytes(StandardCharsets.UTF_8);
    }

    private static String key(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

}
