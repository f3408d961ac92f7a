package dev.easel.observe;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.MDC;

/**
 * The job a thread is working for, as MDC entries every log line carries ({@value #JOB_ID},
 * {@value #MODEL}; the JSON log format writes them as fields). A job's entry point sets them and
 * clears them when it returns; work it hands to other threads takes them along through
 * {@link #propagating(ExecutorService)}.
 */
public final class LogContext {

    /** MDC key: the job's id. */
    public static final String JOB_ID = "jobId";
    /** MDC key: the model the job names. */
    public static final String MODEL = "model";

    private static final List<String> KEYS = List.of(JOB_ID, MODEL);

    private LogContext() {
    }

    /** Sets this thread's job; a null value leaves that key out. */
    public static void set(String jobId, String model) {
        put(JOB_ID, jobId);
        put(MODEL, model);
    }

    /** Forgets this thread's job. */
    public static void clear() {
        KEYS.forEach(MDC::remove);
    }

    /**
     * An executor that runs each task with the log context of the thread that submitted it, and
     * puts the running thread's own context back afterwards (pooled threads serve many jobs).
     * Shutting it down shuts down {@code executor}.
     */
    public static ExecutorService propagating(ExecutorService executor) {
        return new Propagating(executor);
    }

    private static void put(String key, Object value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }

    private static Object[] capture() {
        Object[] values = new Object[KEYS.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = MDC.get(KEYS.get(i));
        }
        return values;
    }

    private static void restore(Object[] values) {
        for (int i = 0; i < values.length; i++) {
            put(KEYS.get(i), values[i]);
        }
    }

    private static final class Propagating extends AbstractExecutorService {

        private final ExecutorService delegate;

        Propagating(ExecutorService delegate) {
            this.delegate = delegate;
        }

        @Override
        public void execute(Runnable task) {
            Object[] submitter = capture();
            delegate.execute(() -> {
                Object[] own = capture();
                restore(submitter);
                try {
                    task.run();
                } finally {
                    restore(own);
                }
            });
        }

        @Override
        public void shutdown() {
            delegate.shutdown();
        }

        @Override
        public List<Runnable> shutdownNow() {
            return delegate.shutdownNow();
        }

        @Override
        public boolean isShutdown() {
            return delegate.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return delegate.isTerminated();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
            return delegate.awaitTermination(timeout, unit);
        }
    }
}
