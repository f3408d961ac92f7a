package dev.easel.messaging;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Keeps what is sent, so a test can read the metadata. By default the test acks or nacks each
 * message as the connector would; {@link #answering} does it at once instead.
 */
final class RecordingEmitter<T> implements Emitter<T> {

    final List<Message<? extends T>> sent = new CopyOnWriteArrayList<>();
    /** When present: whether the "broker" takes a message now (ack) or refuses it (nack). */
    private final Optional<BooleanSupplier> broker;

    RecordingEmitter() {
        this(Optional.empty());
    }

    private RecordingEmitter(Optional<BooleanSupplier> broker) {
        this.broker = broker;
    }

    /** Acks every message at once while {@code taking} says so, else nacks it (and does not keep it). */
    static <T> RecordingEmitter<T> answering(BooleanSupplier taking) {
        return new RecordingEmitter<>(Optional.of(taking));
    }

    @Override
    public CompletionStage<Void> send(T payload) {
        throw new UnsupportedOperationException("Easel sends messages with metadata");
    }

    @Override
    public <M extends Message<? extends T>> void send(M message) {
        if (broker.isPresent() && !broker.get().getAsBoolean()) {
            message.nack(new IllegalStateException("broker refuses"));
            return;
        }
        sent.add(message);
        broker.ifPresent(b -> message.ack());
    }

    Message<? extends T> only() {
        if (sent.size() != 1) {
            throw new AssertionError("expected one message, got " + sent.size());
        }
        return sent.get(0);
    }

    @Override
    public void complete() {
    }

    @Override
    public void error(Exception e) {
    }

    @Override
    public boolean isCancelled() {
        return false;
    }

    @Override
    public boolean hasRequests() {
        return true;
    }
}
