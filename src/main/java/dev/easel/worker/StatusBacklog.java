package dev.easel.worker;

import dev.easel.observe.LogContext;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Status records that could not be stored when their job was answered (storage was down past the
 * job's retry budget), written once storage is back, so that {@code GET /v1/jobs/{id}} reads the
 * failure the events already told. Retried every {@link #INTERVAL} for {@link #RETENTION}; at most
 * {@link #CAPACITY} wait, the oldest kept. Best effort: the event is the answer; a restart loses
 * the backlog (the job's status then stays what it was).
 */
final class StatusBacklog implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(StatusBacklog.class);
    static final Duration INTERVAL = Duration.ofSeconds(10);
    static final Duration RETENTION = Duration.ofHours(24);
    static final int CAPACITY = 10_000;

    /** A status write. */
    @FunctionalInterface
    interface Write {
        void run() throws IOException;
    }

    private final ScheduledExecutorService thread = new ScheduledThreadPoolExecutor(1, task -> {
        Thread t = new Thread(task, "easel-status-backlog");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger waiting = new AtomicInteger();

    /** Writes the status later, again and again until it is stored or {@link #RETENTION} has passed. */
    void add(String jobId, Write write) {
        if (waiting.incrementAndGet() > CAPACITY) {
            waiting.decrementAndGet();
            LOG.errorf("job %s: status backlog full (%d); its status is not stored", jobId, CAPACITY);
            return;
        }
        long until = System.nanoTime() + RETENTION.toNanos();
        schedule(jobId, write, until);
    }

    private void schedule(String jobId, Write write, long until) {
        thread.schedule(() -> {
            try {
                LogContext.set(jobId, null);
                write.run();
                waiting.decrementAndGet();
                LOG.infof("job %s: status stored after storage came back", jobId);
            } catch (IOException | RuntimeException e) {
                if (System.nanoTime() - until < 0) {
                    schedule(jobId, write, until);
                } else {
                    waiting.decrementAndGet();
                    LOG.errorf("job %s: status not stored within %s: %s", jobId, RETENTION, e.getMessage());
                }
            } finally {
                LogContext.clear();
            }
        }, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Status records waiting; for tests and metrics. */
    int waiting() {
        return waiting.get();
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
