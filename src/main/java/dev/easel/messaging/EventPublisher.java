package dev.easel.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.config.EventsConfig;
import dev.easel.config.EventsConfig.CloudEventsMode;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.EventKind;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.Data;
import dev.easel.contract.JobEvents.JobEvent;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Publishes a job's CloudEvents on the events topic, keyed by job id, in binary or structured mode
 * ({@code easel.events.cloud-events-mode}). An event's id is derived from its job and kind
 * ({@link JobEvents#eventId}), and its record is a function of the {@link JobEvent} alone, so an
 * event published again (a redelivered job, a retried send) is byte-identical to the first.
 *
 * <p>{@link #publish} returns a future that completes when the broker has the record; the caller
 * decides how long to wait and whether to try again. {@link #progress} never waits: progress is
 * cosmetic and must not slow denoising, so it is sent from a small queue and dropped when that is
 * full (the broker is gone).
 */
@Singleton
public class EventPublisher {

    static final String STRUCTURED = "application/cloudevents+json";
    /** The CloudEvents extension attribute naming the job's tenant. */
    public static final String TENANT = "easeltenant";
    private static final int PROGRESS_QUEUE = 1000;

    private final RecordSender sender;
    private final String topic;
    private final URI source;
    private final CloudEventsMode mode;
    private final ProgressThrottle throttle;
    private final Clock clock;
    private final ExecutorService progressThread;

    @Inject
    EventPublisher(KafkaSenders senders, TopicsConfig topics, EventsConfig config) {
        this(senders.answers(), topics.events(), config.instance(), config.cloudEventsMode(), config.progressPerSecond(),
                Clock.systemUTC());
    }

    public EventPublisher(RecordSender sender, String topic, String instance, CloudEventsMode mode, int progressPerSecond,
                          Clock clock) {
        this.sender = sender;
        this.topic = topic;
        this.source = JobEvents.source(instance);
        this.mode = mode;
        this.throttle = new ProgressThrottle(progressPerSecond, clock);
        this.clock = clock;
        this.progressThread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(PROGRESS_QUEUE), task -> {
                    Thread thread = new Thread(task, "easel-progress");
                    thread.setDaemon(true);
                    return thread;
                }, new ThreadPoolExecutor.AbortPolicy()); // a full queue or a stopped pool throws: the step is dropped below
    }

    @PreDestroy
    void stop() {
        progressThread.shutdownNow();
    }

    /**
     * The job's event of this kind, made now by this worker.
     *
     * @param scope         the job's tenant: its ids are its own
     * @param discriminator tells apart events of one kind of one job (a progress event's step)
     */
    public JobEvent event(String scope, String jobId, Data data, String discriminator) {
        return new JobEvent(JobEvents.eventId(scope, jobId, data.kind(), discriminator), data.eventType(), source, jobId,
                clock.instant(), data.toJson(), scope);
    }

    /** Whose rate a progress event counts against: job ids are per tenant, so two tenants' jobs may share one. */
    private static String throttled(JobEvent event) {
        return event.tenant() + "/" + event.subject();
    }

    /** Sends the event; the future completes when the broker has it. */
    public CompletableFuture<Void> publish(JobEvent event) {
        if (EventKind.ofCeType(event.type()).map(EventKind::isFinal).orElse(false)) {
            throttle.forget(throttled(event));
        }
        return sender.send(record(event));
    }

    /**
     * Sends the step unless the job's progress rate is exceeded, without waiting; the last step
     * ({@code step >= total}) is always sent.
     *
     * @return done once the send is handed to the producer (or dropped): wait for the last one
     *         before the job's final event, so no progress lands after it
     */
    public CompletableFuture<Void> progress(JobEvent event, int step, int total) {
        if (!throttle.admit(throttled(event), step, total)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> issued = new CompletableFuture<>();
        try {
            progressThread.execute(() -> {
                try {
                    sender.send(record(event));
                } finally {
                    issued.complete(null);
                }
            });
        } catch (RejectedExecutionException e) {
            // The queue is full (the broker slow or away) or the worker is stopping: progress is
            // cosmetic, and the step is dropped at once, so that nothing waits for it.
            issued.complete(null);
        }
        return issued;
    }

    /** The record an event travels in: what {@link #publish} sends. */
    ProducerRecord<byte[], byte[]> record(JobEvent event) {
        Headers headers = new RecordHeaders();
        byte[] value;
        String time = DateTimeFormatter.ISO_INSTANT.format(event.time());
        if (mode == CloudEventsMode.STRUCTURED) {
            ObjectNode envelope = JobEvents.JSON.createObjectNode();
            envelope.put("specversion", JobEvents.SPEC_VERSION);
            envelope.put("id", event.id());
            envelope.put("source", event.source().toString());
            envelope.put("type", event.type());
            envelope.put("subject", event.subject());
            envelope.put("time", time);
            envelope.put("datacontenttype", JobEvents.DATA_CONTENT_TYPE);
            envelope.put(TENANT, event.tenant());
            envelope.set("data", event.data());
            value = json(envelope);
            add(headers, "content-type", STRUCTURED);
        } else {
            add(headers, "ce_specversion", JobEvents.SPEC_VERSION);
            add(headers, "ce_id", event.id());
            add(headers, "ce_source", event.source().toString());
            add(headers, "ce_type", event.type());
            add(headers, "ce_subject", event.subject());
            add(headers, "ce_time", time);
            add(headers, "ce_" + TENANT, event.tenant());
            add(headers, "content-type", JobEvents.DATA_CONTENT_TYPE);
            value = json(event.data());
        }
        return new ProducerRecord<>(topic, null, event.time().toEpochMilli(),
                event.subject().getBytes(StandardCharsets.UTF_8), value, headers);
    }

    private static byte[] json(Object tree) {
        try {
            return JobEvents.JSON.writeValueAsBytes(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree cannot fail to serialise", e);
        }
    }

    private static void add(Headers headers, String key, String value) {
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
}
