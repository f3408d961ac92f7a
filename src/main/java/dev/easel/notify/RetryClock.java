package dev.easel.notify;

import java.time.Duration;

/** Monotonic time and sleeping for the retry loop; tests replace it so backoff takes no real time. */
interface RetryClock {

    long nanoTime();

    void sleep(Duration duration) throws InterruptedException;

    RetryClock SYSTEM = new RetryClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration.toMillis(), duration.toNanosPart() % 1_000_000);
        }
    };
}
