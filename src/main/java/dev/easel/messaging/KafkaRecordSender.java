package dev.easel.messaging;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A {@link RecordSender} over one plain {@link KafkaProducer} (thread-safe, shared by every job).
 * Easel's own producer rather than a Reactive Messaging channel: a failed send fails one future and
 * nothing else — there is no channel to break, so the worker goes on through any broker outage —
 * and the bytes on the wire (CloudEvent headers, dead-letter bounds) are Easel's to decide.
 */
public final class KafkaRecordSender implements RecordSender, AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;

    /**
     * @param config the application's {@code kafka.*} settings (bootstrap servers, TLS, SASL)
     *               plus this producer's own; keys the producer does not know are dropped
     */
    public KafkaRecordSender(Map<String, Object> config) {
        Map<String, Object> producerConfig = new HashMap<>();
        config.forEach((key, value) -> {
            if (ProducerConfig.configNames().contains(key)) {
                producerConfig.put(key, value);
            }
        });
        this.producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** The settings every Easel producer has: acks from all replicas, idempotence, no lingering. */
    public static Map<String, Object> reliable(Map<String, Object> kafka, String clientId, Duration deliveryTimeout) {
        Map<String, Object> config = new HashMap<>(kafka);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // A job's records are few and awaited on its path: batching would only add the wait.
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        long delivery = deliveryTimeout.toMillis();
        // delivery.timeout.ms must cover request.timeout.ms (+ linger): the producer's verdict on
        // a record comes within delivery.timeout.ms of send(), whatever the broker does.
        long request = Math.max(1000, delivery / 3);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) request);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery);
        // send() waits this long for the topic's metadata; then the record fails without being sent.
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, request);
        return config;
    }

    @Override
    public CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            producer.send(record, (metadata, error) -> {
                if (error != null) {
                    done.completeExceptionally(error);
                } else {
                    done.complete(null);
                }
            });
        } catch (RuntimeException e) { // no metadata within max.block.ms, record too large, closed
            done.completeExceptionally(e);
        }
        return done;
    }

    /** Fetches the topic's metadata now; fails after max.block.ms when the broker is away. */
    void prefetch(String topic) {
        producer.partitionsFor(topic);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
