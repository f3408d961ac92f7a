package dev.easel.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.contract.EventKind;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deliveries to a real HTTP server on 127.0.0.1 (allow-listed); backoff waits on a fake clock. */
class WebhookSenderTest {

    private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(new SecureRandom().generateSeed(32));
    private static final Cidr LOCAL = Cidr.parse("127.0.0.1/32");
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer server;
    private ExecutorService serverThreads;
    private final ConcurrentLinkedQueue<Reply> replies = new ConcurrentLinkedQueue<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final FakeRetryClock retryClock = new FakeRetryClock();
    private URI hook;

    /** A scripted response; requests beyond the script get 200. */
    private record Reply(int status, Map<String, String> headers, long delayMillis) {
        static Reply status(int status) {
            return new Reply(status, Map.of(), 0);
        }
    }

    private record Received(Headers headers, String body) {
    }

    /** Monotonic time that moves only when the sender waits, so backoff costs no real time. */
    private static final class FakeRetryClock implements RetryClock {
        private long now;
        final List<Duration> waits = new ArrayList<>();

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void sleep(Duration duration) {
            waits.add(duration);
            now += duration.toNanos();
        }
    }

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        serverThreads = Executors.newCachedThreadPool();
        server.setExecutor(serverThreads); // a slow (timed-out) reply must not hold up the next attempt
        server.createContext("/hook", this::handle);
        server.start();
        hook = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
        serverThreads.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Headers headers = new Headers();
        headers.putAll(exchange.getRequestHeaders());
        received.add(new Received(headers, body));
        Reply reply = replies.poll();
        if (reply == null) {
            reply = Reply.status(200);
        }
        try {
            Thread.sleep(reply.delayMillis());
            reply.headers().forEach(exchange.getResponseHeaders()::add);
            exchange.sendResponseHeaders(reply.status(), -1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exchange.close();
        }
    }

    private static WebhookSettings settings(Duration attemptTimeout, int maxAttempts, Duration maxTotal, List<Cidr> allowed) {
        return new WebhookSettings(SECRET, attemptTimeout, maxAttempts, maxTotal,
                Duration.ofMillis(100), Duration.ofSeconds(5), allowed, "Easel-Webhooks/test");
    }

    private WebhookSender sender(WebhookSettings settings) {
        return new WebhookSender(settings, surroundings(settings), Map.of());
    }

    private WebhookSender.Surroundings surroundings(WebhookSettings settings) {
        return new WebhookSender.Surroundings(new WebhookTargetGuard(settings.allowedCidrs()), Clock.systemUTC(), retryClock,
                new Random(7));
    }

    private WebhookSender sender() {
        return sender(settings(Duration.ofSeconds(5), 4, Duration.ofMinutes(1), List.of(LOCAL)));
    }

    private static WebhookEvent event() {
        return WebhookEvent.of(EventKind.COMPLETED, "default", "job-42", Map.of("images", List.of("s3://bucket/job-42/0.png")));
    }

    @Test
    void deliversASignedEnvelopeThatTheLibraryVerifies() throws Exception {
        WebhookEvent event = event();

        WebhookOutcome outcome = sender().deliver(hook, event);

        assertThat(outcome.delivered()).isTrue();
        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.DELIVERED);
        assertThat(outcome.attempts()).isEqualTo(1);
        assertThat(outcome.lastStatus()).hasValue(200);
        assertThat(outcome.lastError()).isEmpty();
        assertThat(received).hasSize(1);
        Received request = received.get(0);
        Webhook verifier = new Webhook(SECRET);
        assertThatCode(() -> verifier.verify(request.body(), request.headers())).doesNotThrowAnyException();
        assertThatThrownBy(() -> verifier.verify(request.body().replace("job-42", "job-43"), request.headers()))
                .isInstanceOf(WebhookVerificationException.class);
        assertThat(request.headers().getFirst("webhook-id")).isEqualTo(event.id()).startsWith("msg_");
        assertThat(Long.parseLong(request.headers().getFirst("webhook-timestamp")))
                .isCloseTo(Instant.now().getEpochSecond(), Offset.offset(5L));
        assertThat(request.headers().getFirst("webhook-signature")).startsWith("v1,");
        assertThat(request.headers().getFirst("content-type")).isEqualTo("application/json");
        assertThat(request.headers().getFirst("user-agent")).isEqualTo("Easel-Webhooks/test");
        JsonNode body = JSON.readTree(request.body());
        assertThat(body.get("type").asText()).isEqualTo("job.completed");
        assertThat(body.get("jobId").asText()).isEqualTo("job-42");
        assertThat(Instant.parse(body.get("timestamp").asText())).isEqualTo(event.timestamp());
        assertThat(body.get("data").get("images").get(0).asText()).isEqualTo("s3://bucket/job-42/0.png");
    }

    /**
     * A tenant with its own secret: its webhooks verify with it and not with the shared one, and
     * name the tenant, so a receiver holding one tenant's secret accepts none of another's.
     */
    @Test
    void aTenantsWebhooksAreSignedWithItsOwnSecretAndNameIt() throws Exception {
        String acmeSecret = "whsec_" + java.util.Base64.getEncoder().encodeToString("acme-only-secret-32-bytes-long!!".getBytes(
                StandardCharsets.UTF_8));
        WebhookSettings settings = settings(Duration.ofSeconds(5), 4, Duration.ofMinutes(1), List.of(LOCAL));
        WebhookSender sender = new WebhookSender(settings, surroundings(settings), Map.of("acme", acmeSecret));

        sender.deliver(hook, WebhookEvent.of(EventKind.COMPLETED, "acme", "job-42", Map.of()));
        sender.deliver(hook, WebhookEvent.of(EventKind.COMPLETED, "beta", "job-42", Map.of()));

        Received acme = received.get(0);
        Received beta = received.get(1);
        assertThatCode(() -> new Webhook(acmeSecret).verify(acme.body(), acme.headers())).doesNotThrowAnyException();
        assertThatThrownBy(() -> new Webhook(SECRET).verify(acme.body(), acme.headers()))
                .isInstanceOf(WebhookVerificationException.class);
        assertThatThrownBy(() -> new Webhook(acmeSecret).verify(beta.body(), beta.headers()))
                .as("beta's job, though its id is acme's too").isInstanceOf(WebhookVerificationException.class);
        assertThatCode(() -> new Webhook(SECRET).verify(beta.body(), beta.headers())).doesNotThrowAnyException();
        assertThat(JSON.readTree(acme.body()).get("tenant").asText()).isEqualTo("acme");
        assertThat(JSON.readTree(beta.body()).get("tenant").asText()).isEqualTo("beta");
        assertThatThrownBy(() -> new WebhookSender(settings, Map.of("acme", "whsec_short")))
                .hasMessageStartingWith("easel.tenants.acme.webhook-secret must be whsec_");
    }

    @Test
    void retriesServerErrorsWithJitteredBackoffThenDelivers() throws Exception {
        replies.add(Reply.status(500));
        replies.add(Reply.status(502));

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.delivered()).isTrue();
        assertThat(outcome.attempts()).isEqualTo(3);
        assertThat(outcome.lastStatus()).hasValue(200);
        assertThat(retryClock.waits).hasSize(2);
        assertThat(retryClock.waits.get(0)).isBetween(Duration.ZERO, Duration.ofMillis(100));
        assertThat(retryClock.waits.get(1)).isBetween(Duration.ZERO, Duration.ofMillis(200));
        assertThat(received).extracting(r -> r.headers().getFirst("webhook-id")).containsOnly(received.get(0).headers().getFirst("webhook-id"));
        assertThat(received).extracting(Received::body).containsOnly(received.get(0).body());
        Webhook verifier = new Webhook(SECRET);
        for (Received request : received) {
            verifier.verify(request.body(), request.headers());
        }
    }

    @Test
    void honoursRetryAfterSecondsOn429() {
        replies.add(new Reply(429, Map.of("Retry-After", "2"), 0));

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.delivered()).isTrue();
        assertThat(outcome.attempts()).isEqualTo(2);
        assertThat(retryClock.waits).containsExactly(Duration.ofSeconds(2));
    }

    @Test
    void capsRetryAfterAtTheMaxBackoff() {
        replies.add(new Reply(429, Map.of("Retry-After", "3600"), 0));
        replies.add(new Reply(503, Map.of("Retry-After", "99999999999999999999"), 0));

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.attempts()).isEqualTo(3);
        assertThat(retryClock.waits).containsExactly(Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    @Test
    void honoursRetryAfterAsAnHttpDate() {
        String inFourSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().plusSeconds(4).atOffset(ZoneOffset.UTC));
        replies.add(new Reply(429, Map.of("Retry-After", inFourSeconds), 0));
        replies.add(new Reply(429, Map.of("Retry-After", "soon"), 0)); // unparseable: ordinary backoff

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.attempts()).isEqualTo(3);
        assertThat(retryClock.waits.get(0)).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4));
        assertThat(retryClock.waits.get(1)).isBetween(Duration.ZERO, Duration.ofMillis(200));
    }

    @Test
    void doesNotRetryAClientError() {
        replies.add(Reply.status(400));

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.delivered()).isFalse();
        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.REJECTED);
        assertThat(outcome.attempts()).isEqualTo(1);
        assertThat(outcome.lastStatus()).hasValue(400);
        assertThat(outcome.lastError()).hasValue("HTTP 400 (not retried)");
        assertThat(received).hasSize(1);
        assertThat(retryClock.waits).isEmpty();
    }

    @Test
    void doesNotFollowRedirects() {
        replies.add(new Reply(307, Map.of("Location", "http://169.254.169.254/latest/meta-data/"), 0));

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.REJECTED);
        assertThat(outcome.lastError()).hasValue("HTTP 307 (redirects are not followed)");
        assertThat(received).hasSize(1);
    }

    @Test
    void retriesAnAttemptThatTimesOut() {
        replies.add(new Reply(200, Map.of(), 3_000));
        WebhookSender sender = sender(settings(Duration.ofMillis(300), 3, Duration.ofMinutes(1), List.of(LOCAL)));

        long start = System.nanoTime();
        WebhookOutcome outcome = sender.deliver(hook, event());
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(outcome.delivered()).isTrue();
        assertThat(outcome.attempts()).isEqualTo(2);
        assertThat(received).hasSize(2);
        assertThat(took).isLessThan(Duration.ofMillis(2_500));
    }

    @Test
    void countsAttemptsWhenTheAttemptBudgetRunsOut() {
        for (int i = 0; i < 10; i++) {
            replies.add(Reply.status(500));
        }

        WebhookOutcome outcome = sender().deliver(hook, event());

        assertThat(outcome.delivered()).isFalse();
        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.EXHAUSTED);
        assertThat(outcome.attempts()).isEqualTo(4);
        assertThat(outcome.lastStatus()).hasValue(500);
        assertThat(outcome.lastError()).hasValue("HTTP 500");
        assertThat(received).hasSize(4);
        assertThat(retryClock.waits).hasSize(3);
    }

    @Test
    void stopsWhenTheNextAttemptWouldPassTheTotalDuration() {
        for (int i = 0; i < 10; i++) {
            replies.add(new Reply(503, Map.of("Retry-After", "1"), 0));
        }
        WebhookSender sender = sender(settings(Duration.ofSeconds(5), 100, Duration.ofMillis(3_500), List.of(LOCAL)));

        WebhookOutcome outcome = sender.deliver(hook, event());

        // Attempts at 0 s, 1 s, 2 s and 3 s; a fifth at 4 s would be past 3.5 s.
        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.EXHAUSTED);
        assertThat(outcome.attempts()).isEqualTo(4);
        assertThat(outcome.lastStatus()).hasValue(503);
        assertThat(outcome.totalTime()).isEqualTo(Duration.ofSeconds(3));
        assertThat(retryClock.waits).containsOnly(Duration.ofSeconds(1)).hasSize(3);
    }

    @Test
    void retriesConnectionErrors() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closedPort = socket.getLocalPort();
        }

        WebhookOutcome outcome = sender().deliver(URI.create("http://127.0.0.1:" + closedPort + "/hook"), event());

        assertThat(outcome.result()).isEqualTo(WebhookOutcome.Result.EXHAUSTED);
        assertThat(outcome.attempts()).isEqualTo(4);
        assertThat(outcome.lastStatus()).isEmpty();
        assertThat(outcome.lastError()).get().asString().startsWith("connection failed");
    }

    @Test
    void refusedTargetIsAnOutcomeAndNothingIsSent() {
        WebhookSender notAllowListed = sender(settings(Duration.ofSeconds(5), 4, Duration.ofMinutes(1), List.of()));

        WebhookOutcome local = notAllowListed.deliver(hook, event());
        WebhookOutcome metadata = notAllowListed.deliver(URI.create("http://169.254.169.254/latest/meta-data/"), event());
        WebhookOutcome ftp = notAllowListed.deliver(URI.create("ftp://93.184.216.34/upload"), event());

        assertThat(local.result()).isEqualTo(WebhookOutcome.Result.TARGET_REFUSED);
        assertThat(local.attempts()).isZero();
        assertThat(local.lastStatus()).isEmpty();
        assertThat(local.lastError()).get().asString().contains("127.0.0.1 is loopback");
        assertThat(metadata.lastError()).get().asString().contains("169.254.169.254 is link-local");
        assertThat(ftp.lastError()).get().asString().startsWith("scheme must be http or https, got ftp");
        assertThat(received).isEmpty();
    }

    @Test
    void refusesToBlockAVertxEventLoop() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            vertx.runOnContext(ignored -> {
                try {
                    sender().deliver(hook, event());
                    failure.complete(null);
                } catch (RuntimeException e) {
                    failure.complete(e);
                }
            });

            assertThat(failure.get(10, TimeUnit.SECONDS))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("worker thread");
            assertThat(received).isEmpty();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
