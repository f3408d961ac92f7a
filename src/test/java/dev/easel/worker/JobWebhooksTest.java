package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.sun.net.httpserver.HttpServer;
import dev.easel.contract.EventKind;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobWebhook;
import dev.easel.notify.Cidr;
import dev.easel.notify.WebhookSender;
import dev.easel.notify.WebhookSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One job's webhooks against a real receiver: in order, and a slow receiver does not pile up progress. */
class JobWebhooksTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<JsonNode> received = new CopyOnWriteArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch firstArrived = new CountDownLatch(1);
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final PendingDeliveries pending = new PendingDeliveries();
    private HttpServer server;
    private URI hook;

    @BeforeEach
    void receiver() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/hook", exchange -> {
            received.add(JSON.readTree(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            firstArrived.countDown();
            try {
                release.await(30, TimeUnit.SECONDS); // a receiver that hangs until the test lets it go
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        hook = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        threads.shutdownNow();
    }

    /** 30 steps while the receiver hangs on the first: it gets that one, then the answer, which supersedes the rest. */
    @Test
    void progressWhileTheReceiverIsSlowIsDroppedForTheAnswer() throws Exception {
        JobWebhooks webhooks = thirtyStepsWhileTheReceiverHangs();

        webhooks.send(EventKind.COMPLETED, event(JobEvents.COMPLETED, 30));
        release.countDown();

        assertThat(pending.awaitNone(Duration.ofSeconds(20))).isTrue();
        assertThat(received).extracting(b -> b.path("type").asText() + " " + b.path("data").path("step").asInt())
                .containsExactly("job.progress 1", "job.completed 30");
    }

    /** Without an answer yet, the newest of the steps sent meanwhile follows the one in flight. */
    @Test
    void progressWhileTheReceiverIsSlowIsCoalescedToTheNewest() throws Exception {
        JobWebhooks webhooks = thirtyStepsWhileTheReceiverHangs();

        release.countDown();
        assertThat(pending.awaitNone(Duration.ofSeconds(20))).isTrue();
        webhooks.send(EventKind.COMPLETED, event(JobEvents.COMPLETED, 30));

        assertThat(pending.awaitNone(Duration.ofSeconds(20))).isTrue();
        assertThat(received).extracting(b -> b.path("type").asText() + " " + b.path("data").path("step").asInt())
                .containsExactly("job.progress 1", "job.progress 30", "job.completed 30");
    }

    /** Step 1's webhook reaches the receiver, which hangs on it; steps 2 to 30 come meanwhile. */
    private JobWebhooks thirtyStepsWhileTheReceiverHangs() throws InterruptedException {
        JobWebhooks webhooks = new JobWebhooks("j1", Optional.of(new JobWebhook(hook,
                List.of(EventKind.PROGRESS, EventKind.COMPLETED))), delivery());
        webhooks.send(EventKind.PROGRESS, event(JobEvents.PROGRESS, 1));
        assertThat(firstArrived.await(10, TimeUnit.SECONDS)).isTrue();
        for (int step = 2; step <= 30; step++) {
            webhooks.send(EventKind.PROGRESS, event(JobEvents.PROGRESS, step));
        }
        return webhooks;
    }

    private JobWebhooks.Delivery delivery() {
        WebhookSettings settings = new WebhookSettings("whsec_dGVzdC1wcm9maWxlLW9ubHktbm90LWEtcmVhbC1zZWNyZXQ=",
                Duration.ofSeconds(30), 1, Duration.ofMinutes(1), Duration.ofMillis(10), Duration.ofMillis(10),
                List.of(Cidr.parse("127.0.0.1/32")), "Easel-Webhooks/test");
        return new JobWebhooks.Delivery(new WebhookSender(settings), threads,
                new WorkerMetrics(new SimpleMeterRegistry()), pending);
    }

    private static JobEvent event(String type, int step) {
        return new JobEvent("e-" + type + "-" + step, type, URI.create("/easel/worker/test"), "j1", Instant.EPOCH,
                JsonNodeFactory.instance.objectNode().put("step", step), "default");
    }
}
