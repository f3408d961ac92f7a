package dev.easel.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.EventKind;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import dev.easel.messaging.DeadLetters;
import dev.easel.messaging.EventPublisher;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/**
 * The last room of a job: its answer. The job's status record, its CloudEvent and its webhook,
 * and for a job that can never run as sent, its dead letter. Every answer of a completed job is
 * the one stored in its manifest, so a repeated answer is the same answer. Thread-safe; the
 * per-job state is in {@link JobRun}.
 */
final class JobAnswers {

    private static final Logger LOG = Logger.getLogger(JobAnswers.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration PROGRESS_WAIT = Duration.ofSeconds(15);
    /** The status object's metadata naming the delivery its answer was for ({@link JobRun#delivery()}). */
    static final String DELIVERY = "delivery";
    /** The status object's metadata saying whether its failure was dead-lettered ("true" or "false"). */
    static final String DEAD_LETTERED = "dead-lettered";
    /** The status object's metadata: its final event's CloudEvent time and source, to send it again alike. */
    static final String EVENT_TIME = "event-time";
    static final String EVENT_SOURCE = "event-source";
    private static final int MAX_STATUS_BYTES = 1 << 20;

    private final EventPublisher events;
    private final DeadLetters deadLetters;
    private final ObjectStore store;
    private final StatusBacklog backlog;
    private final WorkerMetrics metrics;
    private final Clock clock;

    JobAnswers(EventPublisher events, DeadLetters deadLetters, ObjectStore store, StatusBacklog backlog,
               WorkerMetrics metrics, Clock clock) {
        this.events = events;
        this.deadLetters = deadLetters;
        this.store = store;
        this.backlog = backlog;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** The job has started: its event and webhook go out beside the job; {@link #settle} waits for the event. */
    void started(JobRun run, JobEvents.Started data) {
        JobEvent event = events.event(run.tenant.id(), run.jobId, data, "");
        run.startedEvent = event;
        run.started = events.publish(event);
        run.webhooks.send(EventKind.STARTED, event);
    }

    /** A denoising step is done: throttled, never waited for. */
    void progress(JobRun run, JobEvents.Progress data, boolean webhookDue) {
        JobEvent event = events.event(run.tenant.id(), run.jobId, data, Integer.toString(data.step()));
        run.progress = events.progress(event, data.step(), data.total());
        if (webhookDue) {
            run.webhooks.send(EventKind.PROGRESS, event);
        }
    }

    /** A preview picture is stored: its event (never a webhook); done when the broker has it. */
    CompletableFuture<Void> preview(JobRun run, JobEvents.Preview data) {
        return events.publish(events.event(run.tenant.id(), run.jobId, data, Integer.toString(data.step())));
    }

    /** The completed event of a job whose manifest is being made; stored in it, then published by {@link #answer}. */
    JobEvent completedEvent(JobRun run, JobEvents.Completed data, Instant completedAt) {
        JobEvent made = events.event(run.tenant.id(), run.jobId, data, "");
        return new JobEvent(made.id(), made.type(), made.source(), made.subject(), completedAt, made.data(), made.tenant());
    }

    /**
     * Waits for what the job started beside it: the running status (so it cannot land after the
     * job's last write) and the started event (retried until the broker has it, so it precedes the
     * final one).
     */
    void settle(JobRun run) {
        run.runningStatus.skipOrAwait();
        // Progress is sent from its own queue: the last step is handed to the producer before the
        // final event is, so it cannot land after it. Bounded: progress is cosmetic.
        awaitCosmetic(run, run.progress, "last progress event");
        // Likewise the last preview: a stream ends at the final event, and a preview after it is lost.
        awaitCosmetic(run, run.preview, "last preview");
        CompletableFuture<Void> first = run.started;
        boolean[] tried = {false};
        // The first try is the send made at the start; a retry sends the same event again.
        run.retries.publish("started event", () -> {
            if (!tried[0]) {
                tried[0] = true;
                return first;
            }
            return events.publish(run.startedEvent);
        });
        run.started = CompletableFuture.completedFuture(null);
    }

    private static void awaitCosmetic(JobRun run, CompletableFuture<Void> sent, String what) {
        try {
            sent.get(PROGRESS_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.debugf("job %s: %s not handed over in time: %s", run.jobId, what, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JobAbandonedException("interrupted while waiting for the " + what);
        }
    }

    /**
     * Answers the job: its status (failure or cancellation), CloudEvent, webhook and dead letter.
     * Returns once the broker has the event (and the dead letter, or gave up on it).
     *
     * @return the event's data, as published
     * @throws UnansweredJobException when the event could not be published before shutdown (or,
     *                                for a pushed job, within the budget): leave the job unacknowledged
     */
    JsonNode answer(JobRun run, Outcome outcome) {
        JobEvent event;
        EventKind kind;
        if (outcome instanceof Outcome.Completed completed) {
            kind = EventKind.COMPLETED;
            event = completion(run.tenant.id(), run.jobId, completed.manifest());
        } else if (outcome instanceof Outcome.Failed failed) {
            kind = EventKind.FAILED;
            JobEvents.Failed data = failed.failed();
            LOG.infof("job %s failed (retryable: %s): %s", run.jobId, data.retryable(), data.reason());
            event = stamped(run, events.event(run.tenant.id(), run.jobId, data, ""));
            writeStatus(run, new JobStatus(JobStatus.FAILED, data.reason(), data.violations(), data.retryable(),
                    clock.instant().toString(), run.tenant.id()), new Answered(event, Optional.of(failed.deadLetter())));
        } else {
            kind = EventKind.CANCELLED;
            JobEvents.Cancelled data = ((Outcome.Cancelled) outcome).cancelled();
            LOG.infof("job %s cancelled: %s", run.jobId, data.reason());
            event = stamped(run, events.event(run.tenant.id(), run.jobId, data, ""));
            writeStatus(run, new JobStatus(JobStatus.CANCELLED, data.reason(), null, null, clock.instant().toString(),
                            run.tenant.id()),
                    new Answered(event, Optional.empty()));
        }
        run.retries.publish(kind.wireName() + " event", () -> events.publish(event));
        run.answer = event.data();
        run.webhooks.send(kind, event);
        if (outcome instanceof Outcome.Failed failed && failed.deadLetter()) {
            deadLetter(run, failed.failed().reason(), null);
        }
        return event.data();
    }

    /**
     * A record that is no job at all (unreadable, or a poison record): its dead letter only.
     * Sent again while the broker is away, as an answer is (a missing dead-letter topic, which the
     * producer cannot tell from a broker away, holds the partition until it is made); a letter the
     * broker refuses for good, or a send that breaks, is given up after the budget, logged and
     * counted, so one record cannot stop the worker (and a job answered before its dead letter is
     * not answered again). Only shutdown's interruption escapes.
     */
    void deadLetter(JobRun run, String reason, Throwable cause) {
        if (run.record.isEmpty()) {
            return; // a pushed job: its sender keeps it, and gets the failure as the HTTP answer
        }
        try {
            ProducerRecord<byte[], byte[]> letter;
            try {
                letter = run.retries.storage("dead letter's original", () -> deadLetters.letter(run.record.get(), reason, cause));
            } catch (IOException e) {
                // The store is down (a retryable failure's budget is often spent on it already): a
                // letter holding the original's prefix beats a record committed with no letter.
                LOG.warnf("job %s: the dead letter's original not stored (%s); the letter keeps its prefix", run.jobId,
                        e.getMessage());
                letter = deadLetters.letterWithoutStore(run.record.get(), reason, cause, e.getMessage());
            }
            ProducerRecord<byte[], byte[]> sent = letter;
            run.retries.publishDeadLetter("dead letter", () -> deadLetters.send(sent));
        } catch (JobAbandonedException e) {
            throw e;
        } catch (RuntimeException e) {
            var record = run.record.get();
            LOG.errorf("job %s: dead letter of %s-%d@%d not published (%s); the record is committed and its copy"
                    + " is only on the jobs topic", run.jobId, record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            metrics.deadLetterLost();
        }
    }

    /** The completed event stored in the manifest; a manifest of an older worker gets one made from it. */
    JobEvent completion(String tenant, String jobId, Manifest manifest) {
        if (manifest.answer() != null) {
            Manifest.Answer answer = manifest.answer();
            return new JobEvent(answer.eventId(), JobEvents.COMPLETED, URI.create(answer.source()), jobId,
                    Instant.parse(manifest.completedAt()), answer.data(), tenant);
        }
        List<JobEvents.Image> images = manifest.images().stream()
                .map(i -> new JobEvents.Image(i.objectKey(), store.presignGet(manifest.bucket(), i.objectKey(),
                        Duration.ofHours(1)).toString(), i.seed(), i.clipScore()))
                .toList();
        JobEvents.Completed data = new JobEvents.Completed(manifest.bucket(), images, manifest.model(),
                manifest.timingsMs(), manifest.metadata() == null || manifest.metadata().isNull() ? null : manifest.metadata());
        JobEvent made = events.event(tenant, jobId, data, "");
        return new JobEvent(made.id(), made.type(), made.source(), jobId, Instant.parse(manifest.completedAt()), made.data(),
                tenant);
    }

    /** A failure's or cancellation's event, and for a failure whether it was dead-lettered: what its status keeps. */
    private record Answered(JobEvent event, Optional<Boolean> deadLettered) {
    }

    /** A final event's CloudEvent time and source, kept with its status to send it again as the same event. */
    record Stamp(Instant time, URI source) {
    }

    /** The event as first sent, when this answers a redelivery of an answered delivery. */
    private static JobEvent stamped(JobRun run, JobEvent made) {
        return run.earlierStamp.map(s -> new JobEvent(made.id(), made.type(), s.source(), made.subject(), s.time(),
                made.data(), made.tenant())).orElse(made);
    }

    /**
     * The job's status record, when it has a location: retried within the budget, then handed to
     * the backlog, which writes it once storage is back.
     */
    private void writeStatus(JobRun run, JobStatus status, Answered answered) {
        if (run.location.isEmpty()) {
            return;
        }
        Location location = run.location.get();
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(status);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a status record cannot fail to serialise", e);
        }
        try {
            run.retries.storage("status", () -> {
                putStatus(location, run, answered, bytes);
                return null;
            });
        } catch (IOException e) {
            LOG.warnf("job %s: %s status not stored yet (%s); it will be when storage is back", run.jobId,
                    status.state(), e.getMessage());
            backlog.add(run.jobId, () -> putStatus(location, run, answered, bytes));
        }
    }

    /**
     * status.json, with in its object metadata the delivery it answers and, for a failure, whether
     * it was dead-lettered: what {@link #answeredBefore} needs to answer a redelivery the same way.
     * Metadata rather than fields of the record, which readers of an older version would refuse.
     */
    private void putStatus(Location location, JobRun run, Answered answered, byte[] bytes) throws IOException {
        Map<String, String> metadata = new HashMap<>();
        metadata.put("job-id", run.jobId);
        run.delivery().ifPresent(d -> metadata.put(DELIVERY, d));
        answered.deadLettered().ifPresent(d -> metadata.put(DEAD_LETTERED, d.toString()));
        metadata.put(EVENT_TIME, answered.event().time().toString());
        metadata.put(EVENT_SOURCE, answered.event().source().toString());
        store.put(location.bucket(), location.keys().status(), bytes, "application/json", metadata);
    }

    /**
     * The failure or cancellation this very delivery of the job was answered with already: its
     * worker published it and died before the record's offset was committed. Answered again with
     * the same reason (and dead-lettered again where it was: a dead letter may repeat, it may not
     * be lost), instead of running the job again, which could answer it differently, or even
     * complete a job its submitter was told had been cancelled. A re-post of the job is another
     * delivery: it runs. Completed jobs are answered again from their manifest, before this.
     */
    Optional<Outcome> answeredBefore(JobRun run, Location location) throws IOException {
        Optional<String> delivery = run.delivery();
        if (delivery.isEmpty()) {
            return Optional.empty();
        }
        Optional<StoredObject> stored = run.retries.storage("status check", () ->
                store.exists(location.bucket(), location.keys().status())
                        ? store.get(location.bucket(), location.keys().status(), MAX_STATUS_BYTES) : Optional.empty());
        if (stored.isEmpty() || !delivery.get().equals(stored.get().metadata().get(DELIVERY))) {
            return Optional.empty();
        }
        JobStatus status = JSON.readValue(stored.get().bytes(), JobStatus.class);
        if (!status.isOf(run.tenant.id())) {
            return Optional.empty(); // another tenant's job under these keys (a shared prefix): not this delivery's answer
        }
        run.earlierStamp = stamp(stored.get().metadata());
        Optional<Outcome> outcome = switch (status.state()) {
            case JobStatus.FAILED -> Optional.of(new Outcome.Failed(new JobEvents.Failed(status.reason(),
                    status.violations(), Boolean.TRUE.equals(status.retryable()), run.metadata),
                    deadLettered(stored.get().metadata(), status)));
            case JobStatus.CANCELLED -> Optional.of(new Outcome.Cancelled(new JobEvents.Cancelled(status.reason(),
                    run.metadata)));
            default -> Optional.empty(); // running: it died before its answer, and runs again
        };
        outcome.ifPresent(o -> LOG.infof("job %s (%s) was answered %s already: answering it again", run.jobId,
                delivery.get(), status.state()));
        return outcome;
    }

    /** The stamp a status object keeps; empty for one of an earlier version, or one not readable. */
    static Optional<Stamp> stamp(Map<String, String> metadata) {
        String time = metadata.get(EVENT_TIME);
        String source = metadata.get(EVENT_SOURCE);
        if (time == null || source == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Stamp(Instant.parse(time), URI.create(source)));
        } catch (java.time.format.DateTimeParseException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether the failure was dead-lettered, as its status object says; one written before the
     * object said so (an earlier version) was, unless its deadline had passed: the only failure
     * that version answered without a dead letter.
     */
    static boolean deadLettered(Map<String, String> metadata, JobStatus status) {
        String said = metadata.get(DEAD_LETTERED);
        if (said != null) {
            return Boolean.parseBoolean(said);
        }
        return status.reason() == null || !status.reason().startsWith(JobRunner.DEADLINE_PASSED);
    }
}
