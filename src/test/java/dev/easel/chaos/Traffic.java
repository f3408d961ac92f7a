package dev.easel.chaos;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/** A steady stream of valid jobs onto the jobs topic, one every {@code gap}, on a thread of its own. */
final class Traffic implements AutoCloseable {

    private final Thread thread;
    private final AtomicInteger sent = new AtomicInteger();
    private final int count;
    private volatile boolean stopped;

    /** @param jobs the i-th job to send (its id and spec), added to the scenario's outcome */
    Traffic(String name, int count, Duration gap, IntFunction<SentJob> jobs, Chaos chaos, Outcome outcome) {
        this.count = count;
        this.thread = new Thread(() -> {
            long next = System.nanoTime();
            for (int i = 0; i < count && !stopped; i++) {
                SentJob job = outcome.add(jobs.apply(i));
                chaos.sender.send(job);
                sent.incrementAndGet();
                next += gap.toNanos();
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }, "chaos-traffic-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    int sent() {
        return sent.get();
    }

    boolean done() {
        return sent.get() >= count || !thread.isAlive();
    }

    /** Waits until {@code n} jobs are sent (or all of them, or the time is up). */
    void awaitSent(int n, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (sent.get() < n && thread.isAlive() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
    }

    /** Waits for the whole stream to be sent. */
    void join(Duration timeout) throws InterruptedException {
        thread.join(timeout.toMillis());
        if (thread.isAlive()) {
            close();
            throw new IllegalStateException("the job stream did not finish sending within " + timeout.toSeconds() + " s");
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
