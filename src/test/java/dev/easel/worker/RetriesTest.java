package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.engine.pipeline.Cancellation;
import dev.easel.store.PermanentStorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One job's retry budget, on a clock that runs in real time and jumps when a test says (a job generating). */
class RetriesTest {

    private static final Duration BUDGET = Duration.ofSeconds(10);
    private final long origin = System.nanoTime();
    /** How far the test has moved the clock on. */
    private final AtomicLong nanos = new AtomicLong();
    private final Retries.Policy policy = new Retries.Policy(BUDGET, Duration.ofMillis(1), Duration.ofMillis(2),
            Duration.ofSeconds(1), new BrokerHealth());

    /** Settings that would retry without waiting, fail on the first fault or never retry are refused by name. */
    @Test
    void settingsThatCannotRetryAreRefusedNamingTheSetting() {
        Duration ms = Duration.ofMillis(1);
        Duration s = Duration.ofSeconds(1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Retries.Policy(Duration.ZERO, ms, ms, s, null))
                .hasMessage("easel.worker.retry-budget must be > 0, got PT0S");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Retries.Policy(BUDGET, ms.negated(), ms, s, null))
                .hasMessageStartingWith("easel.worker.retry-initial-backoff must be > 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Retries.Policy(BUDGET, s, ms, s, null))
                .hasMessageStartingWith("easel.worker.retry-max-backoff must be at least easel.worker.retry-initial-backoff");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Retries.Policy(BUDGET, ms, ms, ms, null))
                .hasMessage("easel.worker.publish-timeout must be at least 1s, got PT0.001S");
    }

    @Test
    void aTransientFaultIsRetriedWithinTheBudget() throws Exception {
        Retries retries = pulled();
        assertThat(retries.storage("put", failing(3))).isEqualTo("stored");
    }

    @Test
    void aPermanentFaultIsNotRetried() {
        Retries retries = pulled();
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> retries.storage("put", () -> {
            calls.incrementAndGet();
            throw new PermanentStorageException("AccessDenied", null);
        })).isInstanceOf(PermanentStorageException.class);
        assertThat(calls).hasValue(1);
    }

    @Test
    void pastTheBudgetTheFaultFailsTheCall() {
        Retries retries = pulled();
        nanos.addAndGet(BUDGET.toNanos());
        assertThatThrownBy(() -> retries.storage("put", failing(1))).isInstanceOf(Retries.BudgetSpentException.class)
                .hasMessageStartingWith("storage: put failed for PT10S (the retry budget)");
    }

    /** A pulled job that generated for longer than the budget still rides out a fault while it uploads. */
    @Test
    void aPulledJobsBudgetStartsAgainWhenItsGenerationIsDone() throws Exception {
        Retries retries = pulled();
        nanos.addAndGet(BUDGET.toNanos() * 3); // generating
        retries.startAgain();
        assertThat(retries.storage("image 0", failing(2))).isEqualTo("stored");

        nanos.addAndGet(BUDGET.toNanos());
        assertThatThrownBy(() -> retries.storage("manifest", failing(1))).isInstanceOf(Retries.BudgetSpentException.class);
    }

    /** A pushed job's sender waits for the whole answer: one budget from the start. */
    @Test
    void aPushedJobKeepsOneBudget() {
        Retries retries = new Retries(policy, "j", Cancellation.NONE, true, this::now);
        nanos.addAndGet(BUDGET.toNanos() * 3);
        retries.startAgain();
        assertThatThrownBy(() -> retries.storage("image 0", failing(1))).isInstanceOf(Retries.BudgetSpentException.class);
    }

    /**
     * A dead letter is owed like an answer: past the budget it is still sent again while the broker
     * is away (a retriable fault), but not when the broker refuses the letter itself.
     */
    @Test
    void aDeadLetterWaitsOutTheBrokerPastTheBudgetButNotARefusal() {
        Retries retries = pulled();
        AtomicInteger sends = new AtomicInteger();
        retries.publishDeadLetter("dead letter", () -> {
            if (sends.incrementAndGet() == 3) {
                return CompletableFuture.completedFuture(null);
            }
            nanos.addAndGet(BUDGET.toNanos()); // each outage past the budget
            return CompletableFuture.failedFuture(new org.apache.kafka.common.errors.TimeoutException(
                    "Expiring 1 record(s): the broker is away (test)"));
        });
        assertThat(sends).hasValue(3);

        Retries refused = pulled();
        nanos.addAndGet(BUDGET.toNanos());
        assertThatThrownBy(() -> refused.publishDeadLetter("dead letter", () -> CompletableFuture.failedFuture(
                new org.apache.kafka.common.errors.RecordTooLargeException("too large (test)"))))
                .isInstanceOf(UnansweredJobException.class);
    }

    @Test
    void retriableFaultsAreKafkasRetriableOnesAndTimeoutsAnywhereInTheChain() {
        assertThat(Retries.retriable(new org.apache.kafka.common.KafkaException("aborted",
                new org.apache.kafka.common.errors.NotLeaderOrFollowerException("moved")))).isTrue();
        assertThat(Retries.retriable(new java.util.concurrent.TimeoutException())).isTrue();
        assertThat(Retries.retriable(new org.apache.kafka.common.errors.RecordTooLargeException("big"))).isFalse();
        assertThat(Retries.retriable(new IllegalStateException("closed"))).isFalse();
    }

    private long now() {
        return System.nanoTime() - origin + nanos.get();
    }

    private Retries pulled() {
        return new Retries(policy, "j", Cancellation.NONE, false, this::now);
    }

    /** A call that fails {@code times} times with a transient fault, then succeeds. */
    private static Retries.StorageCall<String> failing(int times) {
        AtomicInteger left = new AtomicInteger(times);
        return () -> {
            if (left.getAndDecrement() > 0) {
                throw new IOException("connection refused (test)");
            }
            return "stored";
        };
    }
}
