package dev.easel.messaging;

import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Puts records on Kafka. The future completes when the broker has the record ({@code acks=all}),
 * or fails when the producer gives up on it; {@link KafkaRecordSender} is the real one.
 */
public interface RecordSender {

    CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record);
}
