package dev.easel.messaging;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * At most {@code perSecond} progress events per job: a step passes when the job's last passed step
 * is at least 1/perSecond old. The final step (step ≥ total) always passes, so listeners see 100 %.
 */
final class ProgressThrottle {

    private final Duration minInterval;
    private final Clock clock;
    private final ConcurrentMap<String, Instant> lastSent = new ConcurrentHashMap<>();

    ProgressThrottle(int perSecond, Clock clock) {
        if (perSecond < 1) {
            throw new IllegalArgumentException("easel.events.progress-per-second must be at least 1, got " + perSecond);
        }
        this.minInterval = Duration.ofNanos(1_000_000_000L / perSecond);
        this.clock = clock;
    }

    /** Whether this step's event should be sent; records it as sent if so. */
    boolean admit(String jobId, int step, int total) {
        Instant now = clock.instant();
        if (step >= total) {
            lastSent.remove(jobId);
            return true;
        }
        boolean[] admitted = {false};
        lastSent.compute(jobId, (id, last) -> {
            if (last == null || !now.isBefore(last.plus(minInterval))) {
                admitted[0] = true;
                return now;
            }
            return last;
        });
        return admitted[0];
    }

    /** Drops the job's state once it ended, so a long-running worker does not keep every job id. */
    void forget(String jobId) {
        lastSent.remove(jobId);
    }

    /** Jobs with state held; for tests. */
    int tracked() {
        return lastSent.size();
    }
}
