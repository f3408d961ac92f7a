package dev.easel.api;

import dev.easel.config.SseConfig;
import dev.easel.messaging.JobEventRecords;
import dev.easel.contract.JobEvents.JobEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.UnicastProcessor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Fans job events out to this process's event streams, by job id. {@link EventFeed} publishes every
 * event it reads from the events topic; each {@link Subscription} buffers its job's events (at most
 * {@code easel.sse.subscriber-buffer}) until its client takes them, and ends after the job's
 * {@code completed} or {@code failed} event. A client that falls that far behind is ended with
 * {@link StreamClosedException} rather than holding memory for it: it reconnects and gets the state.
 * A tenant holds at most {@code easel.sse.max-streams-per-tenant} subscriptions at once.
 */
@ApplicationScoped
public class JobEventHub {

    private final int buffer;
    private final int maxPerTenant;
    private final ConcurrentMap<String, Set<Subscription>> byJob = new ConcurrentHashMap<>();
    /** Open subscriptions by tenant; a tenant without any has no entry. */
    private final ConcurrentMap<String, Integer> byTenant = new ConcurrentHashMap<>();
    private volatile String closedFor;

    @Inject
    JobEventHub(SseConfig config) {
        this(config.subscriberBuffer(), config.maxStreamsPerTenant());
        // Checked here, made with the feed at start-up, rather than on a stream's first heartbeat.
        if (config.heartbeat().isNegative() || config.heartbeat().isZero()) {
            throw new IllegalArgumentException("easel.sse.heartbeat must be > 0, got " + config.heartbeat());
        }
    }

    JobEventHub(int buffer, int maxPerTenant) {
        if (buffer < 1) {
            throw new IllegalArgumentException("easel.sse.subscriber-buffer must be at least 1, got " + buffer);
        }
        if (maxPerTenant < 1) {
            throw new IllegalArgumentException("easel.sse.max-streams-per-tenant must be at least 1, got "
                    + maxPerTenant);
        }
        this.buffer = buffer;
        this.maxPerTenant = maxPerTenant;
    }

    /**
     * Starts buffering the job's events at once, before anyone subscribes to {@link Subscription#stream()}:
     * subscribe first, then read the job's state, and no event in between is lost.
     *
     * @throws TooManyStreamsException when the tenant already holds its most streams here
     */
    public Subscription subscribe(String tenant, String jobId) {
        boolean[] admitted = {false};
        byTenant.compute(tenant, (t, open) -> {
            int now = open == null ? 0 : open;
            admitted[0] = now < maxPerTenant;
            return admitted[0] ? now + 1 : open;
        });
        if (!admitted[0]) {
            throw new TooManyStreamsException(maxPerTenant);
        }
        Subscription subscription = new Subscription(tenant, jobId);
        // Added inside the map's atomic step: added after it, to a set that remove() has just dropped
        // from the map, the subscription would never get an event.
        byJob.compute(jobId, (id, set) -> {
            Set<Subscription> subscriptions = set == null ? ConcurrentHashMap.newKeySet() : set;
            subscriptions.add(subscription);
            return subscriptions;
        });
        String reason = closedFor;
        if (reason != null) { // after closeAll: it would never get an event
            subscription.end(reason);
        }
        return subscription;
    }

    /** Whether anyone here follows the job: the feed decodes only those records. */
    public boolean wants(String jobId) {
        return jobId != null && byJob.containsKey(jobId);
    }

    /** Hands the event to its job's subscriptions (its tenant's only: ids are per tenant); a final event ends them. */
    public void publish(JobEvent event) {
        Set<Subscription> subscriptions = byJob.get(event.subject());
        if (subscriptions != null) {
            subscriptions.stream().filter(s -> s.tenant.equals(event.tenant())).forEach(s -> s.offer(event));
        }
    }

    /** Ends every stream, now and from now on (this process is stopping). */
    public void closeAll(String reason) {
        closedFor = reason;
        byJob.values().forEach(set -> set.forEach(s -> s.end(reason)));
    }

    /** Streams following the job; for tests. */
    int subscribers(String jobId) {
        Set<Subscription> subscriptions = byJob.get(jobId);
        return subscriptions == null ? 0 : subscriptions.size();
    }

    /** Streams the tenant holds open; for tests. */
    int streamsOf(String tenant) {
        return byTenant.getOrDefault(tenant, 0);
    }

    /** Runs on every way a subscription ends (final event, ended, closed, client gone); counts it out once. */
    private void remove(Subscription subscription) {
        byJob.computeIfPresent(subscription.jobId, (id, set) -> {
            set.remove(subscription);
            return set.isEmpty() ? null : set;
        });
        if (subscription.released.compareAndSet(false, true)) {
            byTenant.computeIfPresent(subscription.tenant, (t, open) -> open <= 1 ? null : open - 1);
        }
    }

    /** A stream of one job's events, from its subscription on; one subscriber. */
    public final class Subscription implements AutoCloseable {

        private final String tenant;
        private final String jobId;
        private final ArrayBlockingQueue<JobEvent> queue = new ArrayBlockingQueue<>(buffer);
        private final AtomicBoolean released = new AtomicBoolean();
        private final UnicastProcessor<JobEvent> processor;
        private boolean ended; // guarded by this

        private Subscription(String tenant, String jobId) {
            this.tenant = tenant;
            this.jobId = jobId;
            // onTermination also runs when the client goes away (cancellation).
            this.processor = UnicastProcessor.create(queue, () -> remove(this));
        }

        /**
         * The job's events, in the order the topic has them; completes after a final event, fails
         * with {@link StreamClosedException} (after the events buffered before it) when ended early.
         */
        public Multi<JobEvent> stream() {
            return processor;
        }

        synchronized void offer(JobEvent event) {
            if (ended) {
                return;
            }
            if (queue.remainingCapacity() == 0) {
                end("more than " + buffer + " events waiting for this client; reconnect for the job's current state");
                return;
            }
            processor.onNext(event);
            if (JobEventRecords.isFinal(event.type())) {
                ended = true;
                remove(this);
                processor.onComplete();
            }
        }

        synchronized void end(String reason) {
            if (ended) {
                return;
            }
            ended = true;
            remove(this);
            processor.onError(new StreamClosedException(reason));
        }

        /** Stops following the job (the stream is not wanted, or not any more). */
        @Override
        public void close() {
            synchronized (this) {
                ended = true;
            }
            remove(this);
            processor.cancel();
        }
    }

    /** A new stream past {@code easel.sse.max-streams-per-tenant}; the message says so. */
    public static final class TooManyStreamsException extends RuntimeException {

        TooManyStreamsException(int max) {
            super("this tenant already has " + max + " event streams open here (easel.sse.max-streams-per-tenant);"
                    + " close one, or read GET /v1/jobs/{id}", null, false, false);
        }
    }

    /** A stream ended before its job's final event; the message says why. */
    public static final class StreamClosedException extends RuntimeException {

        StreamClosedException(String reason) {
            super(reason, null, false, false);
        }
    }
}
