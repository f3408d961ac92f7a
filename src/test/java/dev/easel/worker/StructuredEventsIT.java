package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.JobEvents;
import dev.easel.messaging.JobEventRecords;
import dev.easel.testing.TopicReader;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/** The documented switch to structured CloudEvents: the worker starts, runs a job, and every event is an envelope. */
@QuarkusTest
@TestProfile(StructuredEventsIT.Structured.class)
@WithTestResource(WorkerStack.class)
class StructuredEventsIT {

    /** The one setting docs/events.md names. */
    public static final class Structured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("easel.events.cloud-events-mode", "structured");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    TopicsConfig topics;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    @Test
    void jobEventsAreStructuredCloudEvents() throws Exception {
        String id = "it-structured-" + UUID.randomUUID();
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topics.jobs(), id.getBytes(StandardCharsets.UTF_8),
                    ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red"
                            + " circle\", \"width\": 64, \"height\": 64, \"steps\": 2, \"seed\": 7}")
                            .getBytes(StandardCharsets.UTF_8))).get();
        }

        List<ConsumerRecord<byte[], byte[]>> events = new TopicReader(bootstrap).read(topics.events(),
                r -> id.equals(new String(r.key(), StandardCharsets.UTF_8)) && new String(r.value(), StandardCharsets.UTF_8)
                        .contains(JobEvents.COMPLETED), 1, Duration.ofSeconds(60));

        assertThat(events).hasSize(1);
        ConsumerRecord<byte[], byte[]> completed = events.get(0);
        assertThat(new String(completed.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                .isEqualTo("application/cloudevents+json");
        JsonNode envelope = JSON.readTree(completed.value());
        assertThat(envelope.path("specversion").asText()).isEqualTo("1.0");
        assertThat(envelope.path("type").asText()).isEqualTo(JobEvents.COMPLETED);
        assertThat(envelope.path("subject").asText()).isEqualTo(id);
        assertThat(envelope.at("/data/images/0/objectKey").asText()).isEqualTo("default/" + id + "/0.png");
        assertThat(JobEventRecords.decode(completed)).hasValueSatisfying(e -> assertThat(e.id())
                .isEqualTo(envelope.path("id").asText()));
    }
}
