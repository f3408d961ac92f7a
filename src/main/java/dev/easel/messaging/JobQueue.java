package dev.easel.messaging;

import dev.easel.config.TopicsConfig;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Puts jobs on the jobs topic as plain JSON keyed by job id, the first of the forms
 * {@link JobRecords} reads; for the HTTP API. The future completes when the broker has the job
 * ({@code acks=all}) and fails when the producer gave up on it, within {@code easel.worker.publish-timeout}.
 */
@Singleton
public class JobQueue {

    private final RecordSender sender;
    private final String topic;

    @Inject
    JobQueue(KafkaSenders senders, TopicsConfig topics) {
        this(senders.submissions(), topics.jobs());
    }

    public JobQueue(RecordSender sender, String topic) {
        this.sender = sender;
        this.topic = topic;
    }

    /** @param json the job, valid under the contract (JobParser.toJson) */
    public CompletableFuture<Void> submit(String jobId, byte[] json) {
        return submit(topic, jobId, json);
    }

    /** On a tenant's own jobs topic. */
    public CompletableFuture<Void> submit(String tenantTopic, String jobId, byte[] json) {
        return sender.send(new ProducerRecord<>(tenantTopic, jobId.getBytes(StandardCharsets.UTF_8), json));
    }
}
