package dev.easel.worker;

import java.time.Duration;

/**
 * Webhook deliveries queued or under way, so that shutdown can wait for them. A job's record is
 * committed once its event is published, before its webhook is delivered: a delivery dropped at
 * shutdown is never made, since the job does not run again. Thread-safe.
 */
final class PendingDeliveries {

    private int pending; // guarded by this

    synchronized void started() {
        pending++;
    }

    synchronized void finished() {
        pending--;
        notifyAll();
    }

    synchronized int count() {
        return pending;
    }

    /** Whether none is left within {@code timeout}. */
    synchronized boolean awaitNone(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (pending > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return pending == 0;
        }
    }
}
