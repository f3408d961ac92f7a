package dev.easel.worker;

import dev.easel.config.WorkerConfig;
import dev.easel.engine.pipeline.Cancellation;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;
import sun.misc.Signal;

/**
 * Whether this worker still takes jobs, and its graceful shutdown ({@link #drain()}): it stops
 * taking jobs ({@link #isDraining()}; readiness checks can report it), waits up to
 * {@code easel.worker.shutdown-grace} for the running ones to be answered, then cuts off those still
 * generating: {@link #cancellation()} throws {@link JobAbandonedException} at their next step.
 *
 * <p>SIGTERM and SIGINT start the drain <em>before</em> the JVM shuts down, and stop Quarkus once it
 * is over. ONNX Runtime registers a JVM shutdown hook that frees its native environment, and the
 * JVM runs shutdown hooks concurrently: a job still generating when the JVM's shutdown begins
 * crashes it (SIGSEGV in libonnxruntime, seen in ShutdownIT). A second signal cuts running jobs off
 * at once. Stopped any other way (dev mode, tests), Quarkus's {@link ShutdownEvent} drains.
 *
 * <p>While draining, Quarkus and its beans are all up, so jobs finish with a working Kafka consumer
 * and producers. Then Quarkus stops: the messaging worker pool waits for the job threads, the Kafka
 * connector commits the acknowledged offsets and closes the consumer: every answered job is
 * committed, and every job without an answer is not.
 */
@ApplicationScoped
public class WorkerLifecycle {

    /**
     * The {@link ShutdownEvent} observer priority of the drain: before observers at the default
     * priority that release what jobs use ({@link ModelRegistry} closes the ONNX sessions after it).
     */
    public static final int DRAIN_PRIORITY = 1500;
    /** After the drain: observers that release what running jobs use. */
    public static final int AFTER_DRAIN_PRIORITY = DRAIN_PRIORITY + 1000;

    private static final Logger LOG = Logger.getLogger(WorkerLifecycle.class);
    /**
     * How long to wait for cut-off jobs to unwind: a job past its last step (decoding, encoding,
     * storing, publishing) cannot be cut off, and the models must not be closed under it.
     */
    private static final Duration CUT_OFF_WAIT = Duration.ofSeconds(10);

    private final Duration grace;
    private final Duration cutOffWait;
    private volatile boolean draining;
    private volatile boolean cutOff;
    private final AtomicReference<CompletableFuture<Void>> drained = new AtomicReference<>();
    private final AtomicBoolean signalled = new AtomicBoolean();
    private int running; // guarded by this

    @Inject
    WorkerLifecycle(WorkerConfig config) {
        this(config.shutdownGrace());
    }

    WorkerLifecycle(Duration grace) {
        this(grace, CUT_OFF_WAIT);
    }

    /** @param cutOffWait how long cut-off jobs get to reach their next check (tests shorten it) */
    WorkerLifecycle(Duration grace, Duration cutOffWait) {
        if (grace.isNegative()) {
            throw new IllegalArgumentException("easel.worker.shutdown-grace must not be negative, got " + grace);
        }
        this.grace = grace;
        this.cutOffWait = cutOffWait;
    }

    /** True once shutdown has begun: no new job starts here. */
    public boolean isDraining() {
        return draining;
    }

    /**
     * Registers a job about to run; every {@code true} must be followed by {@link #end()}.
     *
     * @return false when draining: do not run the job, and leave its record unacknowledged
     */
    public synchronized boolean begin() {
        if (draining) {
            return false;
        }
        running++;
        return true;
    }

    /** The job registered by {@link #begin()} is over (answered, abandoned or failed to answer). */
    public synchronized void end() {
        running--;
        notifyAll();
    }

    /** Checked between denoising steps: throws {@link JobAbandonedException} once running jobs are cut off. */
    public Cancellation cancellation() {
        return () -> {
            if (cutOff) {
                throw new JobAbandonedException("worker shutting down: grace period of " + grace + " over");
            }
        };
    }

    /** In the packaged application only: tests and dev mode keep the JVM's own handling of signals. */
    void onStart(@Observes StartupEvent event) {
        if (LaunchMode.current() != LaunchMode.NORMAL) {
            return;
        }
        for (String name : List.of("TERM", "INT")) {
            try {
                Signal.handle(new Signal(name), this::onSignal);
            } catch (IllegalArgumentException e) { // e.g. -Xrs
                LOG.warnf("SIG%s not handled (%s): a job running at shutdown may crash the JVM", name, e.getMessage());
            }
        }
    }

    /** First signal: drain, then stop Quarkus. Another: cut the running jobs off now. */
    private void onSignal(Signal signal) {
        if (!signalled.compareAndSet(false, true)) {
            LOG.warnf("SIG%s again: cutting running jobs off now", signal.getName());
            cutOff = true;
            return;
        }
        LOG.infof("SIG%s: stopping", signal.getName());
        Thread stop = new Thread(() -> {
            drain();
            Quarkus.asyncExit();
        }, "easel-stop");
        stop.start();
    }

    /** {@code quarkus.shutdown.delay-enabled}: the delay before shutdown proper, for readiness to go down. */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        startDraining();
    }

    void onShutdown(@Observes @Priority(DRAIN_PRIORITY) ShutdownEvent event) {
        drain();
    }

    /**
     * Stops taking jobs, waits the grace period for running ones, then cuts off the rest. Once: a
     * signal drains before Quarkus stops, and its ShutdownEvent calls this again, which then waits
     * for that drain instead of a second grace period (past the pod's termination grace, the
     * kill would come before the commits).
     */
    void drain() {
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> first = drained.compareAndExchange(null, mine);
        if (first != null) {
            first.join();
            return;
        }
        try {
            drainOnce();
        } finally {
            mine.complete(null);
        }
    }

    private void drainOnce() {
        int atStart = startDraining();
        if (atStart == 0) {
            return;
        }
        LOG.infof("shutting down: waiting up to %s for %d running job(s)", grace, atStart);
        if (awaitIdle(grace) && !cutOff) {
            LOG.info("running jobs answered; committing and stopping");
            return;
        }
        if (!cutOff) {
            cutOff = true;
            LOG.warnf("grace period %s over: cutting off %d job(s); they are left uncommitted and will run again"
                    + " elsewhere", grace, runningJobs());
        }
        if (!awaitIdle(cutOffWait)) {
            LOG.warnf("%d job(s) still busy past their last step (encoding, storing or publishing); stopping anyway",
                    runningJobs());
        }
    }

    private synchronized int startDraining() {
        draining = true;
        return running;
    }

    synchronized int runningJobs() {
        return running;
    }

    /** Whether no job is running within {@code timeout}. */
    synchronized boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (running > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                long millis = Math.max(1, left / 1_000_000);
                wait(millis);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return running == 0;
        }
    }
}
