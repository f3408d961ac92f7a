package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** DeferredWrite never lands after skipOrAwait() returns: either it never starts, or it has ended. */
class DeferredWriteTest {

    /** Runs tasks only when told to, so each interleaving is chosen by the test. */
    private static final class HeldExecutor implements Executor {
        final Queue<Runnable> tasks = new java.util.concurrent.ConcurrentLinkedQueue<>();

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        boolean isEmpty() {
            return tasks.isEmpty();
        }

        void runAll() {
            while (!tasks.isEmpty()) {
                tasks.poll().run();
            }
        }
    }

    @Test
    void skippedBeforeItStartsItNeverRuns() {
        HeldExecutor executor = new HeldExecutor();
        AtomicInteger writes = new AtomicInteger();
        DeferredWrite write = DeferredWrite.after(Duration.ofHours(1), writes::incrementAndGet, executor);

        assertThat(write.skipOrAwait()).isFalse();

        assertThat(writes).hasValue(0);
        assertThat(write.skipOrAwait()).isFalse();
    }

    @Test
    void skippedWhileQueuedItNeverRuns() throws Exception {
        HeldExecutor executor = new HeldExecutor();
        AtomicInteger writes = new AtomicInteger();
        DeferredWrite write = DeferredWrite.after(Duration.ofMillis(1), writes::incrementAndGet, executor);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (executor.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(1); // the delay has passed once the task reaches the executor's queue
        }

        assertThat(write.skipOrAwait()).isFalse();
        executor.runAll();

        assertThat(writes).hasValue(0);
    }

    @Test
    void withoutDelayItIsNeverSkipped() {
        HeldExecutor executor = new HeldExecutor();
        AtomicInteger writes = new AtomicInteger();
        DeferredWrite write = DeferredWrite.after(Duration.ZERO, writes::incrementAndGet, executor);
        CompletableFuture<Boolean> waited = CompletableFuture.supplyAsync(write::skipOrAwait);

        executor.runAll();

        assertThat(waited.join()).isTrue();
        assertThat(writes).hasValue(1);
    }

    @Test
    void aRejectedWriteIsSkipped() {
        DeferredWrite write = DeferredWrite.after(Duration.ZERO, () -> { }, task -> {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        });

        assertThat(write.skipOrAwait()).isFalse();
    }

    @Test
    void aRunningWriteIsAwaited() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger finished = new AtomicInteger();
        DeferredWrite write = DeferredWrite.after(Duration.ZERO, () -> {
            started.countDown();
            await(release);
            finished.incrementAndGet();
        }, task -> new Thread(task, "deferred-write-test").start());
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Boolean> waited = CompletableFuture.supplyAsync(write::skipOrAwait);
        assertThat(waited).isNotDone();
        release.countDown();

        assertThat(waited.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(finished).hasValue(1);
    }

    @Test
    void aDelayedWriteWaitsForItsDelay() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        DeferredWrite write = DeferredWrite.after(Duration.ofMillis(20), ran::countDown, Runnable::run);

        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(write.skipOrAwait()).isTrue();
    }

    @Test
    void nothingToWrite() {
        assertThat(DeferredWrite.none().skipOrAwait()).isFalse();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
