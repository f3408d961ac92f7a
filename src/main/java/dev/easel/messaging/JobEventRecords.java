package dev.easel.messaging;

import dev.easel.contract.EventKind;
import dev.easel.contract.JobEvents;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.JobEvents.JobEvent;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import dev.easel.security.Tenants;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Reads Easel's own job CloudEvents back from the events topic, in either mode
 * {@link EventPublisher} may write them: binary ({@code ce_*} headers, the value is {@code data})
 * or structured ({@code content-type: application/cloudevents+json}, the value is the event).
 * Anything else on the topic is not one of ours and reads as empty.
 */
public final class JobEventRecords {

    private static final String STRUCTURED = "application/cloudevents+json";
    private static final String TYPE_PREFIX = "dev.easel.job.";

    private JobEventRecords() {
    }

    public static Optional<JobEvent> decode(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            return Optional.empty();
        }
        try {
            String contentType = header(record.headers(), "content-type");
            return contentType != null && contentType.startsWith(STRUCTURED)
                    ? structured(JobEvents.JSON.readTree(record.value()), record.timestamp())
                    : binary(record.headers(), JobEvents.JSON.readTree(record.value()), record.timestamp());
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The type without {@code dev.easel.job.}: {@code started}, {@code progress}, {@code preview}, {@code completed}, {@code failed}, {@code cancelled}. */
    public static String shortType(String type) {
        return type.startsWith(TYPE_PREFIX) ? type.substring(TYPE_PREFIX.length()) : type;
    }

    /** Whether an event of this type is a job's last: {@code completed}, {@code failed} or {@code cancelled}. */
    public static boolean isFinal(String type) {
        return EventKind.ofCeType(type).map(EventKind::isFinal).orElse(false);
    }

    private static Optional<JobEvent> binary(Headers headers, JsonNode data, long timestamp) {
        return event(new Attributes(header(headers, "ce_id"), header(headers, "ce_type"), header(headers, "ce_source"),
                header(headers, "ce_subject"), header(headers, "ce_time"), header(headers, "ce_" + EventPublisher.TENANT)),
                data, timestamp);
    }

    private static Optional<JobEvent> structured(JsonNode event, long timestamp) {
        return event(new Attributes(text(event, "id"), text(event, "type"), text(event, "source"),
                text(event, "subject"), text(event, "time"), text(event, EventPublisher.TENANT)), event.get("data"), timestamp);
    }

    private record Attributes(String id, String type, String source, String subject, String time, String tenant) {
    }

    private static Optional<JobEvent> event(Attributes ce, JsonNode data, long timestamp) {
        if (ce.id() == null || ce.type() == null || !ce.type().startsWith(TYPE_PREFIX) || ce.source() == null
                || ce.subject() == null || data == null) {
            return Optional.empty();
        }
        return Optional.of(new JobEvent(ce.id(), ce.type(), URI.create(ce.source()), ce.subject(),
                time(ce.time(), timestamp), data, ce.tenant() == null ? Tenants.DEFAULT : ce.tenant()));
    }

    /** The event's time; the record's timestamp when it has none we can read (it is informative only). */
    private static Instant time(String time, long timestamp) {
        if (time != null) {
            try {
                return OffsetDateTime.parse(time).toInstant();
            } catch (DateTimeParseException e) {
                // fall through
            }
        }
        return Instant.ofEpochMilli(Math.max(0, timestamp));
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isTextual() ? value.asText() : null;
    }

    private static String header(Headers headers, String name) {
        Header header = headers.lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
