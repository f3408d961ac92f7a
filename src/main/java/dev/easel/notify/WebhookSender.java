package dev.easel.notify;

import io.vertx.core.Context;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * Delivers job events to webhook URLs: a signed JSON POST (Standard Webhooks headers
 * {@code webhook-id}, {@code webhook-timestamp}, {@code webhook-signature}), retried with
 * exponential backoff and full jitter.
 *
 * <p><b>Retries.</b> Timeouts, connection errors (DNS failures included), 429 and 5xx are retried;
 * a {@code Retry-After} (seconds or HTTP date) on such a response replaces the backoff, capped at
 * the max backoff. Other 4xx and 3xx (redirects are not followed, see {@link WebhookTargetGuard})
 * end the delivery at once. It stops after the max attempts, or when the next attempt could not
 * start within the max total duration; each attempt's timeout is cut to the time left. Every
 * attempt sends the same body and {@code webhook-id}, with a fresh timestamp and signature so a
 * late retry still passes the receiver's five-minute timestamp check.
 *
 * <p><b>Threads.</b> {@link #deliver} is synchronous and blocks: DNS lookup, the HTTP exchange and
 * the backoff waits (up to the max total duration). It is meant for a worker thread, as the job
 * processor runs jobs on worker threads anyway: a straight-line loop is simpler to reason about
 * and to test than a chain of scheduled stages, and the {@link WebhookOutcome} is there to record
 * when it returns. It refuses to run on a Vert.x event loop (an {@link IllegalStateException}),
 * where blocking would stall every request the loop serves; a caller on an event loop hands it to
 * a worker ({@code @Blocking}, or Mutiny's {@code emitOn(Infrastructure.getDefaultWorkerPool())}).
 *
 * <p>One {@link HttpClient} is shared by all deliveries (connection pooling, one selector
 * thread). Thread-safe.
 */
public final class WebhookSender {

    private static final Logger LOG = Logger.getLogger(WebhookSender.class);

    private final WebhookSettings settings;
    private final HttpClient client;
    private final WebhookTargetGuard guard;
    /** Signs the webhooks of tenants without their own secret (and every webhook with security off). */
    private final WebhookSigner signer;
    /** Tenants' own secrets ({@code easel.tenants.<id>.webhook-secret}), by tenant id. */
    private final Map<String, WebhookSigner> tenantSigners;
    private final Backoff backoff;
    private final Clock wallClock;
    private final RetryClock retryClock;

    /**
     * What a sender consults besides its settings, replaced in tests.
     *
     * @param guard     decides which targets may be called
     * @param wallClock for {@code webhook-timestamp} and HTTP-date {@code Retry-After}
     * @param retryClock measures the budget and waits between attempts
     * @param random    draws the jitter ({@link Random} is safe to share between threads)
     */
    record Surroundings(WebhookTargetGuard guard, Clock wallClock, RetryClock retryClock, Random random) {

        /** The guard of the settings' allowed ranges, the system clocks and real waits. */
        static Surroundings of(WebhookSettings settings) {
            return new Surroundings(new WebhookTargetGuard(settings.allowedCidrs()), Clock.systemUTC(), RetryClock.SYSTEM,
                    new Random());
        }
    }

    /** A sender with a shared HTTP client, the system clocks and real backoff waits; one secret signs all. */
    public WebhookSender(WebhookSettings settings) {
        this(settings, Map.of());
    }

    /**
     * As above, a tenant's webhooks signed with its own secret where it has one: a receiver that
     * holds only its tenant's secret cannot be sent another tenant's events, nor forge them.
     *
     * @param tenantSecrets {@code whsec_} secrets by tenant id
     * @throws IllegalArgumentException naming {@code easel.tenants.<id>.webhook-secret} for a malformed one
     */
    public WebhookSender(WebhookSettings settings, Map<String, String> tenantSecrets) {
        this(settings, Surroundings.of(settings), tenantSecrets);
    }

    WebhookSender(WebhookSettings settings, Surroundings surroundings, Map<String, String> tenantSecrets) {
        this.settings = settings;
        Map<String, WebhookSigner> signers = new java.util.HashMap<>();
        tenantSecrets.forEach((tenant, secret) -> {
            String property = "easel.tenants." + tenant + ".webhook-secret";
            WebhookSettings.checkSecret(property, secret);
            signers.put(tenant, new WebhookSigner(secret));
        });
        this.tenantSigners = Map.copyOf(signers);
        this.client = HttpClient.newBuilder()
                .connectTimeout(settings.attemptTimeout())
                // A redirect would lead to a host the guard has not checked.
                .followRedirects(HttpClient.Redirect.NEVER)
                // Connect directly, so the address connected to is the one the guard checked.
                .proxy(HttpClient.Builder.NO_PROXY)
                // One small POST per event: HTTP/2 would bring nothing but h2c upgrade attempts.
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        this.guard = surroundings.guard();
        this.signer = new WebhookSigner(settings.signingSecret());
        this.backoff = new Backoff(settings.initialBackoff(), settings.maxBackoff(), surroundings.random());
        this.wallClock = surroundings.wallClock();
        this.retryClock = surroundings.retryClock();
    }

    /**
     * Delivers one event to {@code target}, retrying within the configured budget. Blocks; call it
     * from a worker thread (see the class comment).
     *
     * @return how it ended; a refused target or a failed delivery is an outcome, not an exception
     * @throws IllegalStateException when called on a Vert.x event-loop thread
     * @throws IllegalArgumentException when the event's data cannot be written as JSON
     */
    public WebhookOutcome deliver(URI target, WebhookEvent event) {
        if (Context.isOnEventLoopThread()) {
            throw new IllegalStateException("WebhookSender.deliver blocks (DNS, HTTP, backoff waits): "
                    + "call it from a worker thread, not a Vert.x event loop");
        }
        String body = event.toJson();
        long start = retryClock.nanoTime();
        OptionalInt lastStatus = OptionalInt.empty();
        String lastError = null;
        for (int attempt = 1; ; attempt++) {
            Duration left = settings.maxTotalDuration().minus(elapsed(start));
            if (attempt > 1 && (left.isNegative() || left.isZero())) { // the backoff wait overslept the budget
                return outcome(WebhookOutcome.Result.EXHAUSTED, attempt - 1, lastStatus, lastError, start);
            }
            Duration timeout = left.compareTo(settings.attemptTimeout()) < 0 ? left : settings.attemptTimeout();
            Attempt result;
            try {
                TargetVerdict verdict = guard.check(target);
                if (!verdict.allowed()) {
                    return outcome(WebhookOutcome.Result.TARGET_REFUSED, attempt - 1, lastStatus, verdict.reason(), start);
                }
                result = send(target, event, body, timeout);
            } catch (UnknownHostException e) {
                result = Attempt.failure("cannot resolve host " + target.getHost());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return outcome(WebhookOutcome.Result.INTERRUPTED, attempt, lastStatus, "interrupted during attempt " + attempt, start);
            }
            if (result.status() != 0) {
                lastStatus = OptionalInt.of(result.status());
            }
            lastError = result.error();
            if (result.delivered()) {
                return outcome(WebhookOutcome.Result.DELIVERED, attempt, lastStatus, null, start);
            }
            if (!result.retryable()) {
                return outcome(WebhookOutcome.Result.REJECTED, attempt, lastStatus, result.error(), start);
            }
            if (attempt >= settings.maxAttempts()) {
                return outcome(WebhookOutcome.Result.EXHAUSTED, attempt, lastStatus, result.error(), start);
            }
            Duration wait = result.retryAfter().isPresent()
                    ? min(result.retryAfter().get(), settings.maxBackoff())
                    : backoff.delay(attempt - 1);
            if (elapsed(start).plus(wait).compareTo(settings.maxTotalDuration()) >= 0) {
                return outcome(WebhookOutcome.Result.EXHAUSTED, attempt, lastStatus, result.error(), start);
            }
            LOG.debugf("webhook %s for job %s: attempt %d to %s failed (%s), retrying in %d ms",
                    event.id(), event.jobId(), attempt, LoggedUrl.of(target), result.error(), wait.toMillis());
            try {
                retryClock.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return outcome(WebhookOutcome.Result.INTERRUPTED, attempt, lastStatus, "interrupted while waiting to retry", start);
            }
        }
    }

    /** One signed POST, bounded as a whole (connect, headers and body) by {@code timeout}. */
    private Attempt send(URI target, WebhookEvent event, String body, Duration timeout) throws InterruptedException {
        String id = event.id();
        long timestamp = wallClock.instant().getEpochSecond();
        HttpRequest request = HttpRequest.newBuilder(target)
                .header("content-type", "application/json")
                .header("user-agent", settings.userAgent())
                .header("webhook-id", id)
                .header("webhook-timestamp", Long.toString(timestamp))
                .header("webhook-signature", tenantSigners.getOrDefault(event.tenant(), signer).sign(id, timestamp, body))
                .POST(BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        CompletableFuture<HttpResponse<Void>> exchange = client.sendAsync(request, BodyHandlers.discarding());
        HttpResponse<Void> response;
        try {
            response = exchange.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            exchange.cancel(true); // aborts the exchange and closes its connection
            return Attempt.failure("timed out after " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            exchange.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                return Attempt.failure(describe(io));
            }
            throw new IllegalStateException("webhook request to " + LoggedUrl.of(target) + " failed unexpectedly", e.getCause());
        }
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return new Attempt(status, true, false, "", Optional.empty());
        }
        if (status == 429 || status >= 500) {
            return new Attempt(status, false, true, "HTTP " + status,
                    response.headers().firstValue("retry-after").flatMap(this::parseRetryAfter));
        }
        String why = status >= 300 && status < 400 ? " (redirects are not followed)" : " (not retried)";
        return new Attempt(status, false, false, "HTTP " + status + why, Optional.empty());
    }

    /** {@code Retry-After} as delay-seconds or an HTTP date; empty when it is neither. */
    private Optional<Duration> parseRetryAfter(String value) {
        String text = value.strip();
        if (!text.isEmpty() && text.chars().allMatch(Character::isDigit)) {
            // More than 18 digits would overflow; any such value is capped at the max backoff anyway.
            return Optional.of(text.length() > 18 ? settings.maxBackoff() : Duration.ofSeconds(Long.parseLong(text)));
        }
        try {
            Duration until = Duration.between(wallClock.instant(),
                    ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
            return Optional.of(until.isNegative() ? Duration.ZERO : until);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static String describe(IOException e) {
        String kind = e instanceof HttpConnectTimeoutException ? "connect timed out"
                : e instanceof ConnectException ? "connection failed"
                : "I/O error";
        String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return kind + ": " + detail;
    }

    private Duration elapsed(long startNanos) {
        return Duration.ofNanos(retryClock.nanoTime() - startNanos);
    }

    private WebhookOutcome outcome(WebhookOutcome.Result result, int attempts, OptionalInt lastStatus, String error, long start) {
        return new WebhookOutcome(result, attempts, lastStatus, Optional.ofNullable(error), elapsed(start));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** What one attempt got: a status (0 when no response), and whether to retry. */
    private record Attempt(int status, boolean delivered, boolean retryable, String error, Optional<Duration> retryAfter) {

        /** A retryable failure without a response: timeout, connection or DNS error. */
        static Attempt failure(String error) {
            return new Attempt(0, false, true, error, Optional.empty());
        }
    }
}
