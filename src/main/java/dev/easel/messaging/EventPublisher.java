package dev.easel.messaging;

import dev.easel.contract.JobEvents;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.EventsConfig;
import dev.easel.contract.JobEvents.Completed;
import dev.easel.contract.JobEvents.Data;
import dev.easel.contract.JobEvents.Failed;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.net.URI;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Publishes a job's CloudEvents on the events channel, keyed by job id.
 *
 * <p>Every method returns a stage that completes when the broker has acknowledged the record (the
 * channel uses {@code acks=all}), or fails when it will not be: the caller can commit a job's offset
 * only after its completion is published. A stage rather than a blocking call because the caller
 * may be on a Vert.x event-loop thread, where blocking is forbidden; a worker-thread caller can
 * {@code toCompletableFuture().get(timeout)}.
 */
@Singleton
public class EventPublisher {

    private final Emitter<JsonNode> emitter;
    private final URI source;
    private final ProgressThrottle throttle;
    private final Clock clock;
    private final Supplier<String> ids;

    @Inject
    EventPublisher(@Channel(Channels.EVENTS_OUT) Emitter<JsonNode> emitter, EventsConfig config) {
        this(emitter, config.instance(), config.progressPerSecond(), Clock.systemUTC(),
                () -> UUID.randomUUID().toString());
    }

    EventPublisher(Emitter<JsonNode> emitter, String instance, int progressPerSecond, Clock clock,
                   Supplier<String> ids) {
        this.emitter = emitter;
        this.source = JobEvents.source(instance);
        this.throttle = new ProgressThrottle(progressPerSecond, clock);
        this.clock = clock;
        this.ids = ids;
    }

    public CompletionStage<Void> started(String jobId, Started data) {
        return publish(jobId, data);
    }

    /**
     * Publishes the step unless the job's progress rate is exceeded; a dropped step's stage is
     * already complete. The last step ({@code step >= total}) is always published.
     */
    public CompletionStage<Void> progress(String jobId, Progress data) {
        if (!throttle.admit(jobId, data.step(), data.total())) {
            return CompletableFuture.completedFuture(null);
        }
        return publish(jobId, data);
    }

    public CompletionStage<Void> completed(String jobId, Completed data) {
        throttle.forget(jobId);
        return publish(jobId, data);
    }

    public CompletionStage<Void> failed(String jobId, Failed data) {
        throttle.forget(jobId);
        return publish(jobId, data);
    }

    /** The event with fresh id and time, before it becomes a message; what {@link #publish} sends. */
    JobEvent event(String jobId, Data data) {
        return new JobEvent(ids.get(), data.eventType(), source, jobId, clock.instant(), data.toJson());
    }

    private CompletionStage<Void> publish(String jobId, Data data) {
        JobEvent event = event(jobId, data);
        // SmallRye's Kafka sink turns this metadata into ce_* headers (binary mode, the default)
        // or a JSON envelope (cloud-events-mode=structured); see docs/events.md.
        OutgoingCloudEventMetadata<JsonNode> ce = OutgoingCloudEventMetadata.<JsonNode>builder()
                .withId(event.id())
                .withSpecVersion(JobEvents.SPEC_VERSION)
                .withType(event.type())
                .withSource(event.source())
                .withSubject(event.subject())
                .withTimestamp(event.time().atZone(ZoneOffset.UTC))
                .withDataContentType(JobEvents.DATA_CONTENT_TYPE)
                .build();
        OutgoingKafkaRecordMetadata<String> kafka = OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(jobId)
                .withTimestamp(event.time())
                .build();
        return Acked.send(emitter, event.data(), Metadata.of(ce, kafka));
    }
}
