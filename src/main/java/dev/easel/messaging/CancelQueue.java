package dev.easel.messaging;

import dev.easel.config.TopicsConfig;
import dev.easel.messaging.CancelRecords.CancelRequest;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.concurrent.CompletableFuture;

/**
 * Puts cancellations on the control topic ({@code easel.topics.control}), where every worker reads
 * them (dev.easel.worker.CancellationFeed); for {@code DELETE /v1/jobs/{id}}. Sent like HTTP
 * submissions, each in its own transaction ({@link KafkaSenders#submissions()}): the future fails
 * with {@link TransactionalSender.NotQueued} when the cancellation was not written and never will
 * be, and with {@link TransactionalSender.Unconfirmed} when its commit's outcome is unknown.
 */
@Singleton
public class CancelQueue {

    private final RecordSender sender;
    private final String topic;

    @Inject
    CancelQueue(KafkaSenders senders, TopicsConfig topics) {
        this(senders.submissions(), topics.control());
    }

    public CancelQueue(RecordSender sender, String topic) {
        this.sender = sender;
        this.topic = topic;
    }

    public CompletableFuture<Void> cancel(CancelRequest request) {
        return sender.send(CancelRecords.record(topic, request));
    }
}
