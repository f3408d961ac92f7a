package dev.easel.worker;

import dev.easel.engine.pipeline.Cancellation;
import dev.easel.notify.Backoff;
import dev.easel.store.PermanentStorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * One job's retries of transient faults: backoff with full jitter, within the job's budget
 * ({@code easel.worker.retry-budget}, counted from the job's start, and for a pulled job again from
 * the end of its generation: {@link #generationDone}). Blocks the job's thread, so
 * its record stays uncommitted and consumption pauses while storage or the broker is away.
 *
 * <p>Shutdown ends the waiting: the job is abandoned ({@link JobAbandonedException}), left
 * uncommitted, and runs again on another worker. Not thread-safe: one per job, used on its
 * threads one at a time (uploads beside the job's thread each retry on their own).
 */
final class Retries {

    private static final Logger LOG = Logger.getLogger(Retries.class);

    /** The settings every job's retries share. */
    record Policy(Duration budget, Duration initialBackoff, Duration maxBackoff, Duration publishTimeout,
                  BrokerHealth broker) {

        /** Settings that would retry without waiting, fail on the first fault, or not retry at all are refused, named. */
        Policy {
            positive("easel.worker.retry-budget", budget);
            positive("easel.worker.retry-initial-backoff", initialBackoff);
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("easel.worker.retry-max-backoff must be at least"
                        + " easel.worker.retry-initial-backoff (" + initialBackoff + "), got " + maxBackoff);
            }
            if (publishTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                // The producer's delivery timeout must cover its linger and request timeouts (≥ 1 s).
                throw new IllegalArgumentException("easel.worker.publish-timeout must be at least 1s, got "
                        + publishTimeout);
            }
        }

        private static void positive(String property, Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(property + " must be > 0, got " + value);
            }
        }

        Retries start(String jobId, Cancellation shutdown, boolean answersWithinBudget) {
            return new Retries(this, jobId, shutdown, answersWithinBudget, System::nanoTime);
        }
    }

    /** A storage call. */
    @FunctionalInterface
    interface StorageCall<T> {
        T call() throws IOException;
    }

    private final Policy policy;
    private final String jobId;
    private final Cancellation shutdown;
    private final boolean answersWithinBudget;
    private final LongSupplier nanoTime;
    private volatile long deadline; // moved once, by generationDone, while uploads may read it
    private final Backoff backoff;

    Retries(Policy policy, String jobId, Cancellation shutdown, boolean answersWithinBudget, LongSupplier nanoTime) {
        this.policy = policy;
        this.jobId = jobId;
        this.shutdown = shutdown;
        this.answersWithinBudget = answersWithinBudget;
        this.nanoTime = nanoTime;
        this.deadline = nanoTime.getAsLong() + policy.budget().toNanos();
        this.backoff = new Backoff(policy.initialBackoff(), policy.maxBackoff(), ThreadLocalRandom.current());
    }

    /**
     * A pulled job's budget starts again: once its images are made, so the uploads and the answer
     * of a job that ran longer than the budget still ride out a storage fault (otherwise its first
     * transient error would fail the job and throw its compute away), and after it waited for
     * another run of the same job ({@link SameJobLocks}). A pushed job keeps its one budget from
     * the start: its sender is waiting for the whole answer, and redelivers without one.
     */
    void startAgain() {
        if (!answersWithinBudget) {
            deadline = nanoTime.getAsLong() + policy.budget().toNanos();
        }
    }

    /**
     * Runs a storage call, again after each transient fault until the budget is spent.
     *
     * @throws PermanentStorageException at once: retrying will not help
     * @throws BudgetSpentException      when the budget ran out on transient faults
     * @throws JobAbandonedException     when the worker shuts down meanwhile
     */
    <T> T storage(String what, StorageCall<T> call) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return call.call();
            } catch (PermanentStorageException e) {
                throw e;
            } catch (IOException e) {
                if (!waitBeforeRetry(what, attempt, e, true)) {
                    throw new BudgetSpentException("storage: " + what + " failed for " + policy.budget()
                            + " (the retry budget): " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * Publishes a record of the job's answer until the broker has it. In pull mode there is no
     * limit but shutdown: an answer is owed, and without the broker nothing else can be done; a
     * pushed job's sender redelivers, so there the budget applies.
     *
     * @throws UnansweredJobException when the budget ran out (push mode): leave the job unacknowledged
     * @throws JobAbandonedException  when the worker shuts down meanwhile: leave it unacknowledged
     */
    void publish(String what, Supplier<CompletableFuture<Void>> send) {
        publish(what, send, answersWithinBudget);
    }

    /**
     * As {@link #publish(String, Supplier)}, bounded by the budget or not.
     *
     * @throws UnansweredJobException when bounded and the budget ran out
     */
    void publish(String what, Supplier<CompletableFuture<Void>> send, boolean bounded) {
        publish(what, send, fault -> bounded);
    }

    /**
     * Publishes a dead letter: while the broker is away (a retriable fault) without limit but
     * shutdown, as an answer in pull mode — a record's letter is owed, and for a record that is no
     * job it is the only answer; within the budget when the broker refuses the letter itself
     * (too large, invalid), which no wait mends.
     *
     * @throws UnansweredJobException when the broker refused it for good past the budget
     * @throws JobAbandonedException  when the worker shuts down meanwhile: leave it unacknowledged
     */
    void publishDeadLetter(String what, Supplier<CompletableFuture<Void>> send) {
        publish(what, send, fault -> !retriable(fault));
    }

    /** A fault that waiting can mend: the broker away or slow (Kafka's RetriableException, a timeout), anywhere in the chain. */
    static boolean retriable(Throwable fault) {
        for (Throwable t = fault; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.RetriableException || t instanceof TimeoutException) {
                return true;
            }
        }
        return false;
    }

    private void publish(String what, Supplier<CompletableFuture<Void>> send,
                         java.util.function.Predicate<Throwable> boundedFor) {
        CompletableFuture<Void> sent = send.get();
        for (int attempt = 0; ; attempt++) {
            try {
                // The producer gives its verdict within delivery.timeout.ms; the margin covers send()'s own wait.
                sent.get(policy.publishTimeout().toMillis() * 2 + 1000, TimeUnit.MILLISECONDS);
                policy.broker().answered();
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JobAbandonedException(what + ": interrupted while waiting for the broker");
            } catch (ExecutionException | TimeoutException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                policy.broker().refused(cause);
                if (!waitBeforeRetry(what, attempt, cause, boundedFor.test(cause))) {
                    throw new UnansweredJobException(what + ": the broker did not take it within " + policy.budget()
                            + ": " + cause, cause);
                }
                sent = send.get();
            }
        }
    }

    /** Sleeps before the next try; false when the budget does not allow one. */
    private boolean waitBeforeRetry(String what, int attempt, Throwable fault, boolean bounded) {
        shutdown.check();
        Duration wait = backoff.delay(Math.min(attempt, 30));
        long now = nanoTime.getAsLong();
        if (bounded && now + wait.toNanos() - deadline > 0) {
            return false;
        }
        // The first fault and then every tenth: an outage should be visible, not flood the log.
        if (attempt % 10 == 0) {
            LOG.warnf("job %s: %s failed (try %d), trying again in %d ms: %s", jobId, what, attempt + 1,
                    wait.toMillis(), fault.toString());
        }
        sleep(wait);
        shutdown.check();
        return true;
    }

    private void sleep(Duration wait) {
        // In slices, so a shutdown ends the wait within a second rather than a whole backoff.
        long until = nanoTime.getAsLong() + wait.toNanos();
        try {
            for (long left = wait.toNanos(); left > 0; left = until - nanoTime.getAsLong()) {
                TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.SECONDS.toNanos(1)));
                shutdown.check();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JobAbandonedException("interrupted while waiting to retry");
        }
    }

    /** The retry budget ran out on transient faults: the job fails, retryable. */
    static final class BudgetSpentException extends IOException {
        BudgetSpentException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
