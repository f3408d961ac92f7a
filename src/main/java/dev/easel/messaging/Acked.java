package dev.easel.messaging;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/** Emitter sends whose stage completes on the connector's ack (broker has it) or fails on its nack. */
final class Acked {

    private Acked() {
    }

    static <T> CompletionStage<Void> send(Emitter<T> emitter, T payload, Metadata metadata) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Message<T> message = Message.of(payload, metadata,
                () -> {
                    done.complete(null);
                    return CompletableFuture.completedFuture(null);
                },
                failure -> {
                    done.completeExceptionally(failure);
                    return CompletableFuture.completedFuture(null);
                });
        try {
            emitter.send(message);
        } catch (RuntimeException e) { // buffer full, channel cancelled or not connected yet
            done.completeExceptionally(e);
        }
        return done;
    }
}
