package dev.easel.messaging;

import dev.easel.contract.JobEvents;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.JobEvents.Completed;
import dev.easel.contract.JobEvents.Image;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** The publisher and dead letters through Easel's producer to a real broker (LocalStack). */
@QuarkusTest
@WithTestResource(LocalStackKafka.class)
class EventsIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    EventPublisher publisher;
    @Inject
    DeadLetters deadLetters;
    @Inject
    TopicsConfig topics;

    @Test
    void jobEventsAreBinaryCloudEventsKeyedByJobId() throws Exception {
        publisher.publish(publisher.event("", "job-it-1", new Started("sd-1.5", 12, null), "")).get(60, TimeUnit.SECONDS);
        publisher.progress(publisher.event("", "job-it-1", new Progress(2, 2, null), "2"), 2, 2);
        Thread.sleep(500); // progress is sent from its own queue, never awaited
        publisher.publish(publisher.event("", "job-it-1", new Completed("images",
                List.of(new Image("j/0.png", "http://s3/j/0.png", 7)), "sd-1.5", Map.of("total", 40L), null), ""))
                .get(30, TimeUnit.SECONDS);

        List<ConsumerRecord<byte[], byte[]>> records = consume(topics.events(), 3);

        assertThat(records).extracting(r -> new String(r.key(), StandardCharsets.UTF_8)).containsOnly("job-it-1");
        assertThat(records).extracting(r -> header(r, "ce_type"))
                .containsExactly(JobEvents.STARTED, JobEvents.PROGRESS, JobEvents.COMPLETED);
        ConsumerRecord<byte[], byte[]> started = records.get(0);
        assertThat(header(started, "ce_specversion")).isEqualTo("1.0");
        assertThat(header(started, "ce_source")).startsWith("/easel/worker/");
        assertThat(header(started, "ce_subject")).isEqualTo("job-it-1");
        assertThat(header(started, "ce_time")).isNotBlank();
        assertThat(header(started, "content-type")).isEqualTo("application/json");
        assertThat(records).extracting(r -> header(r, "ce_id")).doesNotHaveDuplicates();
        assertThat(JSON.readTree(started.value())).isEqualTo(JSON.readTree("{\"model\":\"sd-1.5\",\"queueWaitMs\":12}"));
        JsonNode completed = JSON.readTree(records.get(2).value());
        assertThat(completed.at("/images/0/seed").asLong()).isEqualTo(7);
        assertThat(completed.at("/timingsMs/total").asLong()).isEqualTo(40);
    }

    @Test
    void deadLetterKeepsTheOriginalRecord() throws Exception {
        byte[] poison = {'{', (byte) 0xff, 0};
        ConsumerRecord<byte[], byte[]> original = new ConsumerRecord<>(topics.jobs(), 0, 41,
                "job-key".getBytes(StandardCharsets.UTF_8), poison);
        original.headers().add("ce_id", "e-9".getBytes(StandardCharsets.UTF_8));

        deadLetters.send(deadLetters.letter(original, "record value is not JSON", new IllegalArgumentException("bad")))
                .get(60, TimeUnit.SECONDS);

        ConsumerRecord<byte[], byte[]> dead = consume(topics.deadLetters(), 1).get(0);
        assertThat(dead.key()).isEqualTo("job-key".getBytes(StandardCharsets.UTF_8));
        assertThat(dead.value()).isEqualTo(poison);
        assertThat(header(dead, "ce_id")).isEqualTo("e-9");
        assertThat(header(dead, DeadLetters.REASON)).isEqualTo("record value is not JSON");
        assertThat(header(dead, DeadLetters.TOPIC)).isEqualTo("easel.jobs");
        assertThat(header(dead, DeadLetters.PARTITION)).isEqualTo("0");
        assertThat(header(dead, DeadLetters.OFFSET)).isEqualTo("41");
        assertThat(header(dead, DeadLetters.EXCEPTION)).isEqualTo("java.lang.IllegalArgumentException");
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String key) {
        Header header = record.headers().lastHeader(key);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static List<ConsumerRecord<byte[], byte[]>> consume(String topic, int count) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalStackKafka.bootstrapServers);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "events-it-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (received.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(received::add);
            }
        }
        assertThat(received).as("records on " + topic).hasSize(count);
        return received;
    }
}
