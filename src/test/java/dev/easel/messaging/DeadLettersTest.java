package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    private final RecordingEmitter<byte[]> emitter = new RecordingEmitter<>();
    private final DeadLetters deadLetters = new DeadLetters(emitter);

    private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("easel.jobs", 2, 17, key, value);
        record.headers().add("ce_id", "e-1".getBytes(StandardCharsets.UTF_8));
        record.headers().add(DeadLetters.REASON, "an earlier attempt".getBytes(StandardCharsets.UTF_8));
        return record;
    }

    private static Map<String, String> strings(Headers headers) {
        Map<String, String> map = new LinkedHashMap<>();
        for (Header header : headers) {
            map.put(header.key(), new String(header.value(), StandardCharsets.UTF_8));
        }
        return map;
    }

    @Test
    @SuppressWarnings("unchecked")
    void keepsTheOriginalBytesAndSaysWhy() {
        byte[] value = {(byte) 0xff, 0, 1};
        deadLetters.send(record("k".getBytes(StandardCharsets.UTF_8), value), "not JSON", new IllegalStateException("x"));

        Message<? extends byte[]> message = emitter.only();
        assertThat(message.getPayload()).isEqualTo(value);
        OutgoingKafkaRecordMetadata<byte[]> kafka = message.getMetadata(OutgoingKafkaRecordMetadata.class).orElseThrow();
        assertThat(kafka.getKey()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
        assertThat(strings(kafka.getHeaders())).containsExactly(
                Map.entry("ce_id", "e-1"),
                Map.entry("easel-dlq-reason", "not JSON"),
                Map.entry("easel-dlq-topic", "easel.jobs"),
                Map.entry("easel-dlq-partition", "2"),
                Map.entry("easel-dlq-offset", "17"),
                Map.entry("easel-dlq-exception", "java.lang.IllegalStateException"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void tombstoneWithoutKeyOrCause() {
        deadLetters.send(record(null, null), "record has no value", null);

        Message<? extends byte[]> message = emitter.only();
        assertThat(message.getPayload()).isEmpty();
        OutgoingKafkaRecordMetadata<byte[]> kafka = message.getMetadata(OutgoingKafkaRecordMetadata.class).orElseThrow();
        assertThat(kafka.getKey()).isNull();
        assertThat(strings(kafka.getHeaders())).doesNotContainKey("easel-dlq-exception");
    }
}
