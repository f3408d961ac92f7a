package dev.easel.messaging;

import com.fasterxml.jackson.databind.JsonNode;
import io.smallrye.reactive.messaging.ce.OutgoingCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * An {@link EventPublisher} and {@link DeadLetters} whose messages the "broker" takes at once
 * (or refuses, after {@link #refuse()}), for tests outside this package of code that awaits them.
 */
public final class AckingMessaging {

    /** One event as it would go on the wire. */
    public record SentEvent(String type, String subject, JsonNode data) {
    }

    /** One dead letter: its value and the reason header. */
    public record SentDeadLetter(byte[] value, String reason) {
    }

    private volatile boolean refusing;
    private final RecordingEmitter<JsonNode> events = RecordingEmitter.answering(() -> !refusing);
    private final RecordingEmitter<byte[]> deadLetters = RecordingEmitter.answering(() -> !refusing);

    public EventPublisher publisher() {
        // A high progress rate so every step of a short test run is published.
        return new EventPublisher(events, "test", 1000, Clock.systemUTC(), () -> UUID.randomUUID().toString());
    }

    public DeadLetters deadLetters() {
        return new DeadLetters(deadLetters);
    }

    /** From now on every send is nacked, as when the broker will not take records. */
    public void refuse() {
        refusing = true;
    }

    public List<SentEvent> events() {
        List<SentEvent> sent = new ArrayList<>();
        for (Message<? extends JsonNode> message : events.sent) {
            @SuppressWarnings("unchecked")
            OutgoingCloudEventMetadata<JsonNode> ce = message.getMetadata(OutgoingCloudEventMetadata.class).orElseThrow();
            sent.add(new SentEvent(ce.getType(), ce.getSubject().orElse(null), message.getPayload()));
        }
        return sent;
    }

    public List<String> eventTypes() {
        return events().stream().map(SentEvent::type).toList();
    }

    public List<SentDeadLetter> deadLettersSent() {
        List<SentDeadLetter> sent = new ArrayList<>();
        for (Message<? extends byte[]> message : deadLetters.sent) {
            @SuppressWarnings("unchecked")
            OutgoingKafkaRecordMetadata<byte[]> kafka = message.getMetadata(OutgoingKafkaRecordMetadata.class).orElseThrow();
            sent.add(new SentDeadLetter(message.getPayload(),
                    new String(kafka.getHeaders().lastHeader(DeadLetters.REASON).value())));
        }
        return sent;
    }
}
