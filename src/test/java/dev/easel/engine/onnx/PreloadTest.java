package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PreloadTest {

    @Test
    void startMakesItOnItsOwnThreadOnceAndGetWaitsForIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger made = new AtomicInteger();
        AtomicReference<String> thread = new AtomicReference<>();
        Preload<String> preload = new Preload<>(() -> {
            thread.set(Thread.currentThread().getName());
            await(release);
            return "made " + made.incrementAndGet();
        }, "test-preload");
        preload.start();
        preload.start();
        List<Thread> getters = new ArrayList<>();
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            Thread getter = new Thread(() -> got.add(preload.get()));
            getters.add(getter);
            getter.start();
        }
        Thread.sleep(50);
        assertThat(got).as("get() waits for the load in flight").isEmpty();
        release.countDown();
        for (Thread getter : getters) {
            getter.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertThat(got).containsOnly("made 1").hasSize(4);
        assertThat(made).hasValue(1);
        assertThat(thread.get()).isEqualTo("test-preload");
    }

    @Test
    void withoutStartGetMakesItOnTheCallersThread() {
        Preload<String> preload = new Preload<>(() -> Thread.currentThread().getName(), "test-preload");
        assertThat(preload.get()).isEqualTo(Thread.currentThread().getName());
        preload.start(); // made already: nothing more
        assertThat(preload.get()).isEqualTo(Thread.currentThread().getName());
    }

    @Test
    void aFailedLoadFailsEveryGetWithTheMakersOwnError() {
        // What a native library that does not link throws: an Error, which must reach the caller as it is.
        UnsatisfiedLinkError linkError = new UnsatisfiedLinkError("no onnxruntime in java.library.path");
        Preload<String> preload = new Preload<>(() -> {
            throw linkError;
        }, "test-preload");
        preload.start();
        assertThatThrownBy(preload::get).isSameAs(linkError);
        assertThatThrownBy(preload::get).isSameAs(linkError);

        IllegalStateException state = new IllegalStateException("bad environment");
        Preload<String> failing = new Preload<>(() -> {
            throw state;
        }, "test-preload");
        assertThatThrownBy(failing::get).isSameAs(state);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
