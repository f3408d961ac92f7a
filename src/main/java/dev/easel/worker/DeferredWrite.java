package dev.easel.worker;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A store write that starts after a delay unless the job is over first. {@link #skipOrAwait()}
 * either stops it from ever starting or waits for it to finish, so it never lands after what the
 * job writes next (its manifest or its failed status).
 *
 * <p>Why: the {@code running} status only matters to whoever polls a job that takes a while; a job
 * that is over within the delay would pay one more request to the store for nothing.
 */
final class DeferredWrite {

    private static final int PENDING = 0;
    private static final int RUNNING = 1;
    private static final int SKIPPED = 2;

    private final AtomicInteger state;
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private DeferredWrite(int state) {
        this.state = new AtomicInteger(state);
    }

    /**
     * @param delay how long to wait before writing; zero writes at once, and then the write is not
     *              skipped: {@link #skipOrAwait()} waits for it
     * @param write must not throw (a failed write logs itself): nothing waits for its outcome
     */
    static DeferredWrite after(Duration delay, Runnable write, Executor executor) {
        boolean now = delay.isZero() || delay.isNegative();
        DeferredWrite deferred = new DeferredWrite(now ? RUNNING : PENDING);
        Executor start = now ? executor : CompletableFuture.delayedExecutor(delay.toNanos(), TimeUnit.NANOSECONDS, executor);
        try {
            start.execute(() -> deferred.run(write));
        } catch (RejectedExecutionException e) {
            deferred.state.set(SKIPPED); // shutting down: nothing will run it
            deferred.done.complete(null);
        }
        return deferred;
    }

    /** Nothing to write. */
    static DeferredWrite none() {
        DeferredWrite nothing = new DeferredWrite(SKIPPED);
        nothing.done.complete(null);
        return nothing;
    }

    private void run(Runnable write) {
        if (state.get() != RUNNING && !state.compareAndSet(PENDING, RUNNING)) {
            return; // skipped
        }
        try {
            write.run();
        } finally {
            done.complete(null);
        }
    }

    /**
     * Cancels the write if it has not started, else waits for it to end.
     *
     * @return whether the write ran
     */
    boolean skipOrAwait() {
        if (state.compareAndSet(PENDING, SKIPPED)) {
            done.complete(null);
            return false;
        }
        done.join();
        return state.get() == RUNNING;
    }
}
