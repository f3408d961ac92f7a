package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.JobEvents.Failed;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.junit.jupiter.api.Test;

/** The publisher's messages as the Kafka connector receives them, without a broker. */
class EventPublisherTest {

    private final RecordingEmitter<JsonNode> emitter = new RecordingEmitter<>();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
    private final AtomicInteger ids = new AtomicInteger();
    private final EventPublisher publisher =
            new EventPublisher(emitter, "worker-1", 2, clock, () -> "event-" + ids.incrementAndGet());

    @Test
    @SuppressWarnings("unchecked")
    void cloudEventAttributesAndKey() {
        publisher.started("job-1", new Started("sd-1.5", 250, null));

        Message<? extends JsonNode> message = emitter.only();
        OutgoingCloudEventMetadata<JsonNode> ce = message.getMetadata(OutgoingCloudEventMetadata.class).orElseThrow();
        assertThat(ce.getSpecVersion()).isEqualTo("1.0");
        assertThat(ce.getId()).isEqualTo("event-1");
        assertThat(ce.getType()).isEqualTo("dev.easel.job.started");
        assertThat(ce.getSource()).isEqualTo(URI.create("/easel/worker/worker-1"));
        assertThat(ce.getSubject()).contains("job-1");
        assertThat(ce.getTimeStamp()).contains(ZonedDateTime.parse("2026-03-01T12:00:00Z"));
        assertThat(ce.getDataContentType()).contains("application/json");
        OutgoingKafkaRecordMetadata<String> kafka = message.getMetadata(OutgoingKafkaRecordMetadata.class).orElseThrow();
        assertThat(kafka.getKey()).isEqualTo("job-1");
        assertThat(kafka.getTimestamp()).isEqualTo(clock.instant());
        assertThat(message.getPayload()).isEqualTo(new Started("sd-1.5", 250, null).toJson());
    }

    @Test
    void stageFollowsTheConnectorsAckAndNack() {
        CompletionStage<Void> ok = publisher.started("job-1", new Started("m", 0, null));
        CompletionStage<Void> bad = publisher.failed("job-2", new Failed("boom", null, true, null));
        assertThat(ok.toCompletableFuture()).isNotDone();

        emitter.sent.get(0).ack();
        emitter.sent.get(1).nack(new IllegalStateException("broker gone"));

        assertThat(ok.toCompletableFuture()).isCompleted();
        assertThat(bad.toCompletableFuture()).isCompletedExceptionally();
    }

    @Test
    void progressIsThrottledButTheLastStepIsSent() {
        publisher.progress("job-1", new Progress(1, 3, null));
        CompletionStage<Void> dropped = publisher.progress("job-1", new Progress(2, 3, null));
        publisher.progress("job-1", new Progress(3, 3, null));
        clock.advance(Duration.ofMillis(500));

        assertThat(dropped.toCompletableFuture()).isCompleted();
        assertThat(emitter.sent).extracting(m -> m.getPayload().get("step").asInt()).containsExactly(1, 3);
    }

    @Test
    void eachEventHasItsOwnId() {
        publisher.started("job-1", new Started("m", 0, null));
        publisher.progress("job-1", new Progress(1, 1, null));

        assertThat(emitter.sent).extracting(m -> m.getMetadata(OutgoingCloudEventMetadata.class).orElseThrow().getId())
                .containsExactly("event-1", "event-2");
    }
}
