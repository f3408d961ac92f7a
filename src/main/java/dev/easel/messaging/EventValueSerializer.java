package dev.easel.messaging;

import dev.easel.contract.JobEvents;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Value serializer of the events channel. In binary mode the connector hands it the event's
 * {@code data} tree; in structured mode it hands it the finished envelope as a String, which a
 * JSON serializer would quote. One serializer for both keeps the mode a one-key switch.
 */
public final class EventValueSerializer implements Serializer<Object> {

    @Override
    public byte[] serialize(String topic, Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof String text) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        try {
            return JobEvents.JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new SerializationException("cannot write event data for topic " + topic, e);
        }
    }
}
