package dev.easel.engine.onnx;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Something made once per process that may be started early on a thread of its own: {@link #start}
 * begins making it in the background, {@link #get} waits for it (or makes it, if nothing started it)
 * and fails with the maker's own error, every time, when making it failed.
 */
final class Preload<T> {

    private final Supplier<T> maker;
    private final String threadName;
    private final AtomicReference<CompletableFuture<T>> made = new AtomicReference<>();

    Preload(Supplier<T> maker, String threadName) {
        this.maker = maker;
        this.threadName = threadName;
    }

    /** Starts making it on a daemon thread, unless it is made or being made. */
    void start() {
        making(true);
    }

    T get() {
        try {
            return making(false).join();
        } catch (CompletionException e) {
            // The maker's own error (an UnsatisfiedLinkError naming the library, say), not a wrapper.
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause.toString(), cause);
        }
    }

    private CompletableFuture<T> making(boolean background) {
        CompletableFuture<T> current = made.get();
        if (current != null) {
            return current;
        }
        CompletableFuture<T> fresh = new CompletableFuture<>();
        if (!made.compareAndSet(null, fresh)) {
            return made.get();
        }
        Runnable make = () -> {
            try {
                fresh.complete(maker.get());
            } catch (Throwable t) { // a native library may fail to link: an Error, reported by get()
                fresh.completeExceptionally(t);
            }
        };
        if (background) {
            Thread thread = new Thread(make, threadName);
            thread.setDaemon(true);
            thread.start();
        } else {
            make.run();
        }
        return fresh;
    }
}
