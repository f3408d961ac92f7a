package dev.easel.worker;

import dev.easel.config.EventsConfig;
import dev.easel.config.TopicsConfig;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Readiness ({@code /q/health/ready}): DOWN while the broker does not take this worker's answers
 * (the last try at publishing one failed and none succeeded since), UP again with the first that
 * does. Jobs wait meanwhile, uncommitted; nothing needs restarting, so liveness is not affected.
 *
 * <p>A worker that is not ready gets no new work in push mode (Knative routes none to it), so no
 * answer would ever succeed to bring it back once the broker is: while answers are refused, the
 * check itself asks the broker, at most every {@value #PROBE_EVERY_SECONDS} s and off the request's
 * thread (a fresh consumer's metadata request for the events topic, which always goes to the
 * broker), and a broker that answers with a leader for every partition of it makes the worker
 * ready again, unless an answer was refused meanwhile.
 */
@Readiness
@Default // injected into Jobs as well as called as a check
@ApplicationScoped
public class BrokerHealth implements HealthCheck {

    static final String NAME = "answers";
    static final long PROBE_EVERY_SECONDS = 10;
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    private static final Logger LOG = Logger.getLogger(BrokerHealth.class);

    /** Whether the broker answers now; throws when it does not. */
    @FunctionalInterface
    interface Probe {
        void reach() throws Exception;
    }

    private record Refusal(Instant since, String error) {
    }

    private final AtomicReference<Refusal> refusal = new AtomicReference<>();
    /** Answers refused so far: a probe clears only when none was refused while it ran. */
    private final java.util.concurrent.atomic.AtomicLong refusals = new java.util.concurrent.atomic.AtomicLong();
    private final Optional<Probe> probe;
    private final Clock clock;
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile Instant lastProbe = Instant.EPOCH;
    private ExecutorService probeThread; // made on the first probe

    @Inject
    BrokerHealth(EventsConfig events, TopicsConfig topics, @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this(Optional.of(probeOf(CancellationFeed.consumerFactory(kafka, "easel-broker-probe-" + events.instance()),
                topics.events())), Clock.systemUTC());
    }

    /** Without a probe: only answers tell (tests of the code that reports to it). */
    BrokerHealth() {
        this(Optional.empty(), Clock.systemUTC());
    }

    BrokerHealth(Optional<Probe> probe, Clock clock) {
        this.probe = probe;
        this.clock = clock;
    }

    /** The events topic has a leader for every partition: what publishing an answer needs of the broker. */
    private static Probe probeOf(Supplier<Consumer<byte[], byte[]>> consumers, String eventsTopic) {
        return () -> {
            try (Consumer<byte[], byte[]> consumer = consumers.get()) {
                java.util.List<org.apache.kafka.common.PartitionInfo> partitions = consumer.partitionsFor(eventsTopic,
                        PROBE_TIMEOUT);
                if (partitions == null || partitions.isEmpty()
                        || partitions.stream().anyMatch(p -> p.leader() == null || p.leader().isEmpty())) {
                    throw new IllegalStateException(eventsTopic + " has a partition without a leader, or none");
                }
            }
        };
    }

    /** A record of an answer was acknowledged. */
    void answered() {
        refusal.set(null);
    }

    /** A try at publishing an answer failed. */
    void refused(Throwable error) {
        refusals.incrementAndGet();
        refusal.compareAndSet(null, new Refusal(Instant.now(), String.valueOf(error)));
    }

    /** Since when answers are refused, if they are. */
    Optional<Instant> refusedSince() {
        return Optional.ofNullable(refusal.get()).map(Refusal::since);
    }

    @Override
    public HealthCheckResponse call() {
        Refusal now = refusal.get();
        if (now == null) {
            return HealthCheckResponse.named(NAME).up().withData("state", "the broker takes answers").build();
        }
        probeSoon(now);
        return HealthCheckResponse.named(NAME).down().withData("state", "answers refused since " + now.since())
                .withData("error", now.error()).build();
    }

    /** Asks the broker, off this thread, unless a probe runs or ran in the last PROBE_EVERY_SECONDS. */
    private void probeSoon(Refusal seen) {
        if (probe.isEmpty() || clock.instant().isBefore(lastProbe.plusSeconds(PROBE_EVERY_SECONDS))
                || !probing.compareAndSet(false, true)) {
            return;
        }
        lastProbe = clock.instant();
        long refusedBefore = refusals.get();
        executor().execute(() -> {
            try {
                probe.get().reach();
                // An answer refused while the probe ran is news the probe cannot judge: it stays down.
                if (refusals.get() == refusedBefore && refusal.compareAndSet(seen, null)) {
                    LOG.infof("the broker answers again (refused since %s): ready", seen.since());
                }
            } catch (Exception e) {
                LOG.debugf("broker probe: %s", e.toString());
            } finally {
                probing.set(false);
            }
        });
    }

    private synchronized ExecutorService executor() {
        if (probeThread == null) {
            probeThread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "easel-broker-probe");
                t.setDaemon(true);
                return t;
            });
        }
        return probeThread;
    }

    @PreDestroy
    synchronized void close() {
        if (probeThread != null) {
            probeThread.shutdownNow();
        }
    }
}
