package dev.easel.engine.pipeline;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * A graph a bundle may or may not have (VAE encoder, CLIP, CLIP guidance): known to be there at
 * load, opened then or on first use ({@link StableDiffusionModel#loadOnFirstUse}), and kept until
 * the model closes. Thread-safe: jobs that need it first at the same time open it once.
 */
final class OptionalGraph<T extends AutoCloseable> implements AutoCloseable {

    private final Optional<Supplier<T>> opener;
    private T value;
    private boolean closed;

    private OptionalGraph(Optional<Supplier<T>> opener) {
        this.opener = opener;
    }

    static <T extends AutoCloseable> OptionalGraph<T> absent() {
        return new OptionalGraph<>(Optional.empty());
    }

    static <T extends AutoCloseable> OptionalGraph<T> of(Supplier<T> opener) {
        return new OptionalGraph<>(Optional.of(opener));
    }

    /** Whether the bundle has the graph (opened or not). */
    boolean present() {
        return opener.isPresent();
    }

    /** The graph, opened now if it was not; empty when the bundle has none. */
    synchronized Optional<T> get() {
        if (opener.isEmpty()) {
            return Optional.empty();
        }
        if (closed) {
            throw new IllegalStateException("the model is closed");
        }
        if (value == null) {
            value = opener.get().get();
        }
        return Optional.of(value);
    }

    @Override
    public synchronized void close() throws Exception {
        closed = true;
        if (value != null) {
            value.close();
            value = null;
        }
    }
}
