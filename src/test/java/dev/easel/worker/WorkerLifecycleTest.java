package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.engine.pipeline.Cancellation;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Draining: no new jobs, running ones finish within the grace period or are cut off. */
class WorkerLifecycleTest {

    @Test
    void noJobStartsOnceDraining() {
        WorkerLifecycle lifecycle = new WorkerLifecycle(Duration.ofSeconds(30));
        assertThat(lifecycle.isDraining()).isFalse();

        lifecycle.drain(); // nothing running: returns at once

        assertThat(lifecycle.isDraining()).isTrue();
        assertThat(lifecycle.begin()).isFalse();
        lifecycle.cancellation().check(); // nothing was cut off
    }

    @Test
    void jobThatEndsWithinTheGracePeriodIsNotCutOff() throws Exception {
        WorkerLifecycle lifecycle = new WorkerLifecycle(Duration.ofMinutes(5));
        assertThat(lifecycle.begin()).isTrue();
        CountDownLatch draining = new CountDownLatch(1);
        CompletableFuture<Void> job = CompletableFuture.runAsync(() -> {
            await(draining);
            lifecycle.cancellation().check();
            lifecycle.end();
        });

        CompletableFuture<Void> drain = CompletableFuture.runAsync(lifecycle::drain);
        while (!lifecycle.isDraining()) {
            Thread.onSpinWait();
        }
        draining.countDown();

        job.get(30, TimeUnit.SECONDS); // the check did not throw
        drain.get(30, TimeUnit.SECONDS);
        assertThat(lifecycle.runningJobs()).isZero();
    }

    /**
     * A signal drains, then Quarkus' ShutdownEvent drains again. With a job busy past its cut-off, a
     * drain of its own would wait the grace period and the cut-off wait once more.
     */
    @Test
    void aLaterDrainWaitsForTheFirstInsteadOfAGracePeriodOfItsOwn() throws Exception {
        WorkerLifecycle lifecycle = new WorkerLifecycle(Duration.ofSeconds(2), Duration.ofMillis(50));
        assertThat(lifecycle.begin()).isTrue(); // a job that never reaches a check
        CompletableFuture<Void> first = CompletableFuture.runAsync(lifecycle::drain);
        while (!lifecycle.isDraining()) {
            Thread.onSpinWait();
        }
        CompletableFuture<Void> beside = CompletableFuture.runAsync(lifecycle::drain);

        first.get(30, TimeUnit.SECONDS);
        beside.get(1, TimeUnit.SECONDS);
        CompletableFuture.runAsync(lifecycle::drain).get(1, TimeUnit.SECONDS); // not another 2 s grace period
        assertThat(lifecycle.runningJobs()).isEqualTo(1);
        lifecycle.end();
    }

    @Test
    void jobStillRunningAfterTheGracePeriodIsCutOffAtItsNextCheck() throws Exception {
        WorkerLifecycle lifecycle = new WorkerLifecycle(Duration.ofMillis(50));
        Cancellation cancellation = lifecycle.cancellation();
        assertThat(lifecycle.begin()).isTrue();
        CompletableFuture<Throwable> job = CompletableFuture.supplyAsync(() -> {
            try {
                while (true) { // a job's denoising loop
                    cancellation.check();
                    Thread.sleep(5);
                }
            } catch (JobAbandonedException | InterruptedException e) {
                return e;
            } finally {
                lifecycle.end();
            }
        });

        lifecycle.drain();

        assertThat(job.get(30, TimeUnit.SECONDS)).isInstanceOf(JobAbandonedException.class)
                .hasMessageContaining("shutting down");
        assertThat(lifecycle.runningJobs()).isZero();
        assertThatThrownBy(cancellation::check).isInstanceOf(JobAbandonedException.class);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
