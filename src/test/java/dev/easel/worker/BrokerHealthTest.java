package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/**
 * The answers check: down while the broker refuses answers; and, since a worker that is not ready
 * gets no work in push mode to find out, back up once a probe of its own reaches the broker.
 */
class BrokerHealthTest {

    /** A clock the test moves. */
    private static final class Ticking extends Clock {
        volatile Instant now = Instant.parse("2026-12-07T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final Ticking clock = new Ticking();
    private final AtomicBoolean brokerUp = new AtomicBoolean();
    private final AtomicInteger probes = new AtomicInteger();
    private final CountDownLatch probed = new CountDownLatch(1);
    private final BrokerHealth health = new BrokerHealth(Optional.of(() -> {
        probes.incrementAndGet();
        try {
            if (!brokerUp.get()) {
                throw new IllegalStateException("Timeout expired while fetching topic metadata (test)");
            }
        } finally {
            probed.countDown();
        }
    }), clock);

    @Test
    void anAnswerRefusedTakesItDownAndOneTakenBringsItBack() {
        assertThat(health.call().getStatus()).isEqualTo(HealthCheckResponse.Status.UP);
        health.refused(new IllegalStateException("broker away (test)"));
        assertThat(health.call().getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        health.answered();
        assertThat(health.call().getStatus()).isEqualTo(HealthCheckResponse.Status.UP);
    }

    /** No job comes to find out (Knative routes none to a worker that is not ready): the probe does. */
    @Test
    void withoutAnyAnswerAProbeThatReachesTheBrokerBringsItBack() throws Exception {
        health.refused(new IllegalStateException("broker away (test)"));

        assertThat(health.call().getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(probed.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(health.call().getStatus()).as("the broker is still away").isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(probes.get()).as("at most one probe in %d s", BrokerHealth.PROBE_EVERY_SECONDS).isEqualTo(1);

        brokerUp.set(true);
        clock.now = clock.now.plusSeconds(BrokerHealth.PROBE_EVERY_SECONDS);
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (health.call().getStatus() != HealthCheckResponse.Status.UP && System.nanoTime() < until) {
            Thread.sleep(10); // the first probe's thread may not have let go yet; the next call probes
        }

        assertThat(health.call().getStatus()).isEqualTo(HealthCheckResponse.Status.UP);
        assertThat(probes.get()).isEqualTo(2);
    }

    /** An answer refused while the probe runs outweighs the probe: readiness stays down. */
    @Test
    void aRefusalDuringTheProbeKeepsItDown() throws Exception {
        CountDownLatch probing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        BrokerHealth slow = new BrokerHealth(Optional.of(() -> {
            probing.countDown();
            release.await(5, TimeUnit.SECONDS);
        }), clock);
        slow.refused(new IllegalStateException("broker away (test)"));
        slow.call();
        assertThat(probing.await(5, TimeUnit.SECONDS)).isTrue();

        slow.refused(new IllegalStateException("the events topic has no leader (test)"));
        release.countDown();
        Thread.sleep(200);

        assertThat(slow.call().getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
    }
}
