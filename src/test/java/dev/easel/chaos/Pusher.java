package dev.easel.chaos;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * Delivers jobs to the worker's push endpoint ({@code POST /}) as binary-mode CloudEvents, the
 * way a Knative KafkaSource does: 200 is the final answer, 503 (and 5xx, 429, a refused or timed-out
 * connection) means deliver again, after a backoff that doubles from 0.5 s up to 8 s, until the
 * deadline; any other 4xx is final.
 */
final class Pusher implements AutoCloseable {

    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(120);
    private static final long FIRST_BACKOFF_MS = 500;
    private static final long MAX_BACKOFF_MS = 8_000;

    private final IntSupplier port;
    private final ExecutorService pool;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1).build();
    private final AtomicInteger redeliveries = new AtomicInteger();
    private final AtomicInteger status503 = new AtomicInteger();

    /** @param port the worker's current HTTP port (it changes when the worker restarts) */
    Pusher(IntSupplier port, int parallel) {
        this.port = port;
        this.pool = Executors.newFixedThreadPool(parallel, r -> {
            Thread t = new Thread(r, "chaos-push");
            t.setDaemon(true);
            return t;
        });
    }

    Future<?> push(SentJob job, long deadlineNanos) {
        job.sentAt(System.currentTimeMillis());
        return pool.submit(() -> deliver(job, deadlineNanos));
    }

    private void deliver(SentJob job, long deadlineNanos) {
        long backoff = FIRST_BACKOFF_MS;
        int attempts = 0;
        String last = "not sent";
        while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
            attempts++;
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port.getAsInt() + "/"))
                    .timeout(REQUEST_TIMEOUT)
                    .header("ce-specversion", "1.0")
                    .header("ce-id", job.id())
                    .header("ce-source", "/chaos")
                    .header("ce-type", "dev.easel.job.requested")
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(job.spec().bytes(job.id())))
                    .build();
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                last = status + " " + response.body();
                if (status == 200 || (status >= 400 && status < 500 && status != 429 && status != 408)) {
                    job.pushAnswered(new SentJob.PushAnswer(status, response.body(), attempts));
                    return;
                }
                if (status == 503) {
                    status503.incrementAndGet();
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            redeliveries.incrementAndGet();
            try {
                Thread.sleep(Math.min(backoff, Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        }
        // No final answer before the deadline: recorded as such, the job stays unsettled (lost).
        job.pushAnswered(new SentJob.PushAnswer(-1, last, attempts));
    }

    int redeliveries() {
        return redeliveries.get();
    }

    int serviceUnavailable() {
        return status503.get();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
