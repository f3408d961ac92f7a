package dev.easel.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One job's state from intake to answer: what each room (intake, run, answer) learns of the job
 * and the next one needs. Made per job, used by one job's threads; never shared between jobs.
 */
final class JobRun {

    /** Whose job it is: its ids, keys and events are the tenant's. */
    final dev.easel.security.Tenant tenant;
    /** The id the job is answered under (its own, else the record's key, else a fresh one). */
    String jobId;
    /** The record it came in, in pull mode: for its dead letter. Empty for a pushed job. */
    final Optional<ConsumerRecord<byte[], byte[]>> record;
    /** A pushed job's CloudEvent source and id, which its sender's redeliveries repeat; empty when it had none. */
    Optional<String> pushedAs = Optional.empty();
    /** A pushed job's CloudEvent time, when it gave one. */
    Optional<Instant> pushedAt = Optional.empty();
    final Retries retries;
    final long queueMs;
    final long startNanos;
    /** Where its objects go, once known; a rejected job's output is not to be trusted and has none. */
    Optional<Location> location = Optional.empty();
    /** The job's metadata, echoed in its events; null when it has none. */
    JsonNode metadata;
    JobWebhooks webhooks;
    /**
     * Its final event's data once published, else null: a fault after that must not answer it
     * again, and a pushed job returns this answer, not a redelivery.
     */
    JsonNode answer;
    /** Answered from an earlier delivery's failure or cancellation ({@link JobAnswers#answeredBefore}): nothing ran. */
    boolean answeredBefore;
    /**
     * That earlier answer's CloudEvent time and source, when its status said them: the answer is
     * sent again as the same event (CloudEvents: source and id identify it), not a new one.
     */
    Optional<JobAnswers.Stamp> earlierStamp = Optional.empty();
    /** The started event, once made. */
    dev.easel.contract.JobEvents.JobEvent startedEvent;
    /** The started event's publication, awaited before the final event; done when none was made. */
    CompletableFuture<Void> started = CompletableFuture.completedFuture(null);
    /** The last progress event's hand-over to the producer, awaited before the final event. */
    CompletableFuture<Void> progress = CompletableFuture.completedFuture(null);
    /** The running status write, skipped or awaited before the job's last write. */
    DeferredWrite runningStatus = DeferredWrite.none();
    /** The last preview's store write and event, awaited (bounded) before the final event; the next waits for it. */
    CompletableFuture<Void> preview = CompletableFuture.completedFuture(null);
    /** Previews queued behind {@link #preview} and not yet sent or given up. */
    final java.util.concurrent.atomic.AtomicInteger previewsPending = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Which delivery of the job this is: a redelivery of the same record (its answer published, its
     * offset not yet committed when the worker died) has the same; a re-post of the job has another.
     * Empty when it cannot be told (a pushed job without a CloudEvent id).
     */
    /**
     * The delivery with its time (the record's timestamp, the CloudEvent's time): what the id of a
     * job without one derives from. An offset or an event id alone comes again once a topic is
     * recreated, and would make a new job the old one; with its time it does not.
     */
    Optional<String> deliveryWithTime() {
        Optional<String> time = record.isPresent() ? Optional.of(Long.toString(record.get().timestamp()))
                : pushedAt.map(Instant::toString);
        return delivery().map(d -> time.map(t -> d + "/" + t).orElse(d));
    }

    Optional<String> delivery() {
        if (record.isPresent()) {
            ConsumerRecord<byte[], byte[]> r = record.get();
            return Optional.of(r.topic() + "-" + r.partition() + "@" + r.offset());
        }
        // Hashed (the same SHA-256 hex as API keys): a sender's source and id are any text, and
        // this goes into an object's metadata.
        return pushedAs.map(event -> "pushed-" + dev.easel.security.ApiKeys.hash(event));
    }

    JobRun(dev.easel.security.Tenant tenant, String jobId, Optional<ConsumerRecord<byte[], byte[]>> record,
           Retries retries, long queueMs, long startNanos, JobWebhooks webhooks) {
        this.tenant = tenant;
        this.jobId = jobId;
        this.record = record;
        this.retries = retries;
        this.queueMs = queueMs;
        this.startNanos = startNanos;
        this.webhooks = webhooks;
    }
}
