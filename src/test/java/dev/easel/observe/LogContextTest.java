package dev.easel.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LogContextTest {

    private final ExecutorService pool = Executors.newSingleThreadExecutor();

    @AfterEach
    void tearDown() {
        LogContext.clear();
        pool.shutdownNow();
    }

    @Test
    void tasksRunWithTheSubmittersJobAndThePoolThreadGetsItsOwnBack() throws Exception {
        pool.submit(() -> MDC.put(LogContext.JOB_ID, "the pool thread's own")).get();
        ExecutorService executor = LogContext.propagating(pool);

        LogContext.set("j-1", "sd15");
        Object[] first = CompletableFuture.supplyAsync(LogContextTest::job, executor).join();
        LogContext.set("j-2", null);
        Object[] second = CompletableFuture.supplyAsync(LogContextTest::job, executor).join();
        Object[] after = pool.submit(LogContextTest::job).get();

        assertThat(first).containsExactly("j-1", "sd15");
        assertThat(second).containsExactly("j-2", null);
        assertThat(after).containsExactly("the pool thread's own", null);
    }

    @Test
    void clearForgetsTheJob() {
        LogContext.set("j-3", "sd15");
        LogContext.clear();

        assertThat(job()).containsExactly(null, null);
    }

    private static Object[] job() {
        return new Object[] {MDC.get(LogContext.JOB_ID), MDC.get(LogContext.MODEL)};
    }
}
