package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PendingDeliveriesTest {

    private final PendingDeliveries pending = new PendingDeliveries();

    @Test
    void noneIsAwaitedAtOnce() {
        assertThat(pending.awaitNone(Duration.ZERO)).isTrue();
    }

    @Test
    void oneUnderWayIsWaitedForUntilTheTimeout() {
        pending.started();
        assertThat(pending.awaitNone(Duration.ofMillis(50))).isFalse();
        assertThat(pending.count()).isEqualTo(1);
    }

    @Test
    void theWaitEndsWhenTheLastFinishes() throws Exception {
        pending.started();
        pending.started();
        Thread finisher = new Thread(() -> {
            pending.finished();
            pending.finished();
        });
        finisher.start();
        assertThat(pending.awaitNone(Duration.ofSeconds(10))).isTrue();
        finisher.join();
        assertThat(pending.count()).isZero();
    }
}
