package dev.easel.messaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.EventsConfig.CloudEventsMode;
import dev.easel.store.ObjectStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;

/**
 * An {@link EventPublisher} and {@link DeadLetters} over one {@link InMemoryRecordSender}, for
 * tests outside this package of the code that awaits them.
 */
public final class AckingMessaging {

    public static final String EVENTS = "easel.events";
    public static final String DEAD_LETTERS = "easel.jobs.dlq";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One event as it went on the wire. */
    public record SentEvent(String id, String type, String subject, JsonNode data, byte[] value) {
    }

    /** One dead letter: its value and the reason header. */
    public record SentDeadLetter(byte[] value, String reason, ProducerRecord<byte[], byte[]> record) {
    }

    public final InMemoryRecordSender broker = new InMemoryRecordSender();

    public EventPublisher publisher() {
        // A high progress rate so every step of a short test run is published.
        return new EventPublisher(broker, EVENTS, "test", CloudEventsMode.BINARY, 1000, Clock.systemUTC());
    }

    public DeadLetters deadLetters(ObjectStore store, String bucket) {
        return new DeadLetters(broker, DEAD_LETTERS, store, bucket, 900_000);
    }

    /** From now on every send fails, as when the broker will not take records. */
    public void refuse() {
        broker.refuse(Integer.MAX_VALUE);
    }

    public List<SentEvent> events() {
        List<SentEvent> sent = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> record : broker.on(EVENTS)) {
            try {
                sent.add(new SentEvent(header(record, "ce_id"), header(record, "ce_type"), header(record, "ce_subject"),
                        JSON.readTree(record.value()), record.value()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sent;
    }

    public List<String> eventTypes() {
        return events().stream().map(SentEvent::type).toList();
    }

    public List<SentDeadLetter> deadLettersSent() {
        return broker.on(DEAD_LETTERS).stream()
                .map(r -> new SentDeadLetter(r.value(), header(r, DeadLetters.REASON), r)).toList();
    }

    public static String header(ProducerRecord<byte[], byte[]> record, String key) {
        Header header = record.headers().lastHeader(key);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
