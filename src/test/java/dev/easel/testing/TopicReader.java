package dev.easel.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads a topic from the beginning in a fresh consumer group, for integration tests' assertions. */
public final class TopicReader {

    private final Map<String, ?> clientConfig;

    public TopicReader(String bootstrapServers) {
        this(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
    }

    /** @param clientConfig {@code bootstrap.servers} and what else the broker asks of a client (SASL, TLS) */
    public TopicReader(Map<String, ?> clientConfig) {
        this.clientConfig = Map.copyOf(clientConfig);
    }

    /** Up to {@code count} records of {@code topic} that {@code wanted} accepts, waiting at most {@code within}. */
    public List<ConsumerRecord<byte[], byte[]>> read(String topic, Predicate<ConsumerRecord<byte[], byte[]>> wanted,
                                                     int count, Duration within) {
        Properties props = new Properties();
        props.putAll(clientConfig);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> found = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long until = System.nanoTime() + within.toNanos();
            while (found.size() < count && System.nanoTime() < until) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    if (wanted.test(record) && found.size() < count) {
                        found.add(record);
                    }
                }
            }
        }
        return found;
    }
}
