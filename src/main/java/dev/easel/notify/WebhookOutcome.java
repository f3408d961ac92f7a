package dev.easel.notify;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How the delivery of one event ended, for the caller to record with the job.
 *
 * @param result how it ended
 * @param attempts attempts made, failed DNS lookups included (0 when the target was refused before any)
 * @param lastStatus the last HTTP status received, empty when no attempt got a response
 * @param lastError why the last attempt failed (status, timeout, connection error or refusal),
 *     empty when delivered
 * @param totalTime from the start of the first attempt to the end of the last, backoff included
 */
public record WebhookOutcome(Result result, int attempts, OptionalInt lastStatus, Optional<String> lastError, Duration totalTime) {

    /** How a delivery ended. */
    public enum Result {
        /** A 2xx response. */
        DELIVERED,
        /** A response that retrying will not change: a 4xx other than 429, or a redirect (not followed). */
        REJECTED,
        /** The attempts or the time budget ran out on retryable failures. */
        EXHAUSTED,
        /** The URL was refused by {@link WebhookTargetGuard}; nothing was sent. */
        TARGET_REFUSED,
        /** The calling thread was interrupted; the interrupt flag is set again. */
        INTERRUPTED
    }

    public WebhookOutcome {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(lastStatus, "lastStatus");
        Objects.requireNonNull(lastError, "lastError");
        Objects.requireNonNull(totalTime, "totalTime");
    }

    /** Whether the receiver accepted the event. */
    public boolean delivered() {
        return result == Result.DELIVERED;
    }
}
