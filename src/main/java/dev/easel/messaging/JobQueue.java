package dev.easel.messaging;

import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Puts jobs on the jobs topic (channel {@link Channels#JOBS_OUT}) as plain JSON keyed by job id,
 * the first of the forms {@link JobRecords} reads. The stage completes when the broker has the
 * record ({@code acks=all}) and fails when it will not take it.
 */
@Singleton
public class JobQueue {

    private final Emitter<byte[]> emitter;

    @Inject
    JobQueue(@Channel(Channels.JOBS_OUT) Emitter<byte[]> emitter) {
        this.emitter = emitter;
    }

    /** @param json the job, valid under the contract (JobParser.toJson) */
    public CompletionStage<Void> submit(String jobId, byte[] json) {
        OutgoingKafkaRecordMetadata<String> kafka = OutgoingKafkaRecordMetadata.<String>builder().withKey(jobId).build();
        return Acked.send(emitter, json, Metadata.of(kafka));
    }
}
