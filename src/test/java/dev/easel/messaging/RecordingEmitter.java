package dev.easel.messaging;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/** Keeps what is sent, so a test can read the metadata and ack or nack it as the connector would. */
final class RecordingEmitter<T> implements Emitter<T> {

    final List<Message<? extends T>> sent = new ArrayList<>();

    @Override
    public CompletionStage<Void> send(T payload) {
        throw new UnsupportedOperationException("Easel sends messages with metadata");
    }

    @Override
    public <M extends Message<? extends T>> void send(M message) {
        sent.add(message);
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
