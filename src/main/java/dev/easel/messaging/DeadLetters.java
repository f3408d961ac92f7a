package dev.easel.messaging;

import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Writes records Easel cannot read (see {@link JobRecords}) or that crash it (poison) to the
 * dead-letter topic: the original key, value and headers byte for byte, so the record can be
 * inspected and replayed as sent, plus {@code easel-dlq-*} headers saying why and where from.
 * The returned stage completes when the broker has the record; commit the original offset after.
 */
@Singleton
public class DeadLetters {

    public static final String REASON = "easel-dlq-reason";
    public static final String TOPIC = "easel-dlq-topic";
    public static final String PARTITION = "easel-dlq-partition";
    public static final String OFFSET = "easel-dlq-offset";
    public static final String EXCEPTION = "easel-dlq-exception";
    private static final String PREFIX = "easel-dlq-";

    private final Emitter<byte[]> emitter;

    @Inject
    DeadLetters(@Channel(Channels.DEAD_LETTERS_OUT) Emitter<byte[]> emitter) {
        this.emitter = emitter;
    }

    /**
     * @param record the record as consumed, raw bytes
     * @param reason one line: why it cannot be processed
     * @param cause  the exception that made it poison, or null when it was merely unreadable
     */
    public CompletionStage<Void> send(ConsumerRecord<byte[], byte[]> record, String reason, Throwable cause) {
        OutgoingKafkaRecordMetadata<byte[]> kafka = OutgoingKafkaRecordMetadata.<byte[]>builder()
                .withKey(record.key())
                .withHeaders(headers(record, reason, cause))
                .build();
        // A tombstone has no value to keep; the emitter does not take null payloads.
        byte[] value = record.value() == null ? new byte[0] : record.value();
        return Acked.send(emitter, value, Metadata.of(kafka));
    }

    static Headers headers(ConsumerRecord<byte[], byte[]> record, String reason, Throwable cause) {
        Headers headers = new RecordHeaders();
        for (Header header : record.headers()) {
            // A replayed dead letter that fails again gets this attempt's reasons only.
            if (!header.key().startsWith(PREFIX)) {
                headers.add(header);
            }
        }
        add(headers, REASON, reason);
        add(headers, TOPIC, record.topic());
        add(headers, PARTITION, Integer.toString(record.partition()));
        add(headers, OFFSET, Long.toString(record.offset()));
        if (cause != null) {
            add(headers, EXCEPTION, cause.getClass().getName());
        }
        return headers;
    }

    private static void add(Headers headers, String key, String value) {
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
}
