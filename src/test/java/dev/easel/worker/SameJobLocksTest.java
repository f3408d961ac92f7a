package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SameJobLocksTest {

    private final SameJobLocks locks = new SameJobLocks();

    @Test
    void aSecondRunOfTheSameJobWaitsForTheFirst() throws Exception {
        SameJobLocks.Held first = locks.hold("acme", "j1");
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> locks.hold("acme", "j1").close());
        Thread.sleep(100);
        assertThat(second).isNotDone();

        first.close();

        second.get(5, TimeUnit.SECONDS);
        assertThat(locks.size()).as("nothing kept once no run holds it").isZero();
    }

    @Test
    void anotherJobOrTheSameIdOfAnotherTenantDoesNotWait() throws Exception {
        try (SameJobLocks.Held held = locks.hold("acme", "j1")) {
            CompletableFuture.runAsync(() -> locks.hold("acme", "j2").close()).get(5, TimeUnit.SECONDS);
            CompletableFuture.runAsync(() -> locks.hold("globex", "j1").close()).get(5, TimeUnit.SECONDS);
            assertThat(locks.size()).isEqualTo(1);
        }
        assertThat(locks.size()).isZero();
    }
}
