package dev.easel.worker;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * The jobs whose submitters cancelled them, as this worker has heard (from the control topic, see
 * {@link CancellationFeed}): a queued one is answered {@code cancelled} without running, a running
 * one stops at its next denoising step. Kept for {@link #KEEP}, longer than a job waits in a queue
 * worth having.
 *
 * <p>While the feed reads the cancellations made before this worker started ({@link #catchingUp}),
 * {@link #reason} waits for it, up to a bound: the jobs consumer does not wait for readiness, and a
 * job taken off the queue meanwhile must not run when it was cancelled before the worker started.
 */
@ApplicationScoped
public class Cancellations {

    static final Duration KEEP = Duration.ofDays(7);

    private static final Logger LOG = Logger.getLogger(Cancellations.class);

    private record Cancelled(String reason, long at) {
    }

    private final Map<String, Cancelled> byJob = new ConcurrentHashMap<>();
    /** Done unless the feed is reading the cancellations made before this worker started. */
    private volatile CompletableFuture<Void> caughtUp = CompletableFuture.completedFuture(null);
    /** Until when {@link #reason} waits for {@link #caughtUp} (System.nanoTime). */
    private volatile long waitUntilNanos;

    /** Records a cancellation; the reason says who asked. */
    public void cancel(String tenant, String jobId, String reason, long atMillis) {
        byJob.put(tenant + "/" + jobId, new Cancelled(reason, atMillis));
        if (byJob.size() % 1024 == 0) {
            long oldest = System.currentTimeMillis() - KEEP.toMillis();
            byJob.values().removeIf(c -> c.at() < oldest);
        }
    }

    /**
     * Why the job was cancelled, if it was. While the feed catches up at startup, waits for it
     * (at most until the bound given to {@link #catchingUp}).
     */
    public Optional<String> reason(String tenant, String jobId) {
        awaitCaughtUp();
        Cancelled cancelled = byJob.get(tenant + "/" + jobId);
        return cancelled == null ? Optional.empty() : Optional.of(cancelled.reason());
    }

    /**
     * The feed starts reading the cancellations made before this worker started: {@link #reason}
     * waits until {@link #caughtUp()}, or for {@code atMost} from now, whichever comes first.
     */
    void catchingUp(Duration atMost) {
        waitUntilNanos = System.nanoTime() + atMost.toNanos();
        caughtUp = new CompletableFuture<>();
    }

    /** The feed has read every cancellation made before this worker started. */
    void caughtUp() {
        caughtUp.complete(null);
    }

    /** Whether every cancellation made before this worker started is known here. */
    public boolean isCaughtUp() {
        return caughtUp.isDone();
    }

    private void awaitCaughtUp() {
        CompletableFuture<Void> pending = caughtUp;
        if (pending.isDone()) {
            return;
        }
        long left = waitUntilNanos - System.nanoTime();
        if (left <= 0) {
            return;
        }
        try {
            pending.get(left, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            LOG.warn("the cancellations made before this worker started are not all read yet (the control topic"
                    + " cannot be read); going on without them");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // never completed exceptionally
        }
    }
}
