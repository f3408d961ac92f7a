package dev.easel.messaging;

import dev.easel.contract.JobEvents;
import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.contract.JobEvents.JobEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** Reading job events back from the events topic: both CloudEvents modes, and records that are not ours. */
class JobEventRecordsTest {

    @Test
    void binaryEventIsReadFromItsHeaders() {
        ConsumerRecord<byte[], byte[]> record = record("{\"step\": 3, \"total\": 10}");
        record.headers().add("ce_specversion", bytes("1.0")).add("ce_id", bytes("e1"))
                .add("ce_type", bytes(JobEvents.PROGRESS)).add("ce_source", bytes("/easel/worker/w1"))
                .add("ce_subject", bytes("j1")).add("ce_time", bytes("2030-01-01T00:00:00.250Z"));

        JobEvent event = JobEventRecords.decode(record).orElseThrow();

        assertThat(event.id()).isEqualTo("e1");
        assertThat(event.type()).isEqualTo(JobEvents.PROGRESS);
        assertThat(event.subject()).isEqualTo("j1");
        assertThat(event.time()).isEqualTo(Instant.parse("2030-01-01T00:00:00.250Z"));
        assertThat(event.data().path("step").asInt()).isEqualTo(3);
    }

    @Test
    void structuredEventIsReadFromItsValue() {
        ConsumerRecord<byte[], byte[]> record = record("{\"specversion\": \"1.0\", \"id\": \"e2\", \"type\": \""
                + JobEvents.COMPLETED + "\", \"source\": \"/easel/worker/w1\", \"subject\": \"j1\","
                + " \"time\": \"2030-01-01T00:00:00Z\", \"data\": {\"bucket\": \"b\"}}");
        record.headers().add("content-type", bytes("application/cloudevents+json; charset=UTF-8"));

        JobEvent event = JobEventRecords.decode(record).orElseThrow();

        assertThat(event.id()).isEqualTo("e2");
        assertThat(JobEventRecords.isFinal(event.type())).isTrue();
        assertThat(JobEventRecords.shortType(event.type())).isEqualTo("completed");
        assertThat(event.data().path("bucket").asText()).isEqualTo("b");
    }

    @Test
    void recordsThatAreNotJobEventsAreSkipped() {
        ConsumerRecord<byte[], byte[]> plain = record("{\"step\": 1}");
        ConsumerRecord<byte[], byte[]> otherType = record("{}");
        otherType.headers().add("ce_id", bytes("e3")).add("ce_type", bytes("com.example.thing"))
                .add("ce_source", bytes("/x")).add("ce_subject", bytes("j1"));
        ConsumerRecord<byte[], byte[]> notJson = record("not json");
        notJson.headers().add("ce_id", bytes("e4")).add("ce_type", bytes(JobEvents.STARTED))
                .add("ce_source", bytes("/x")).add("ce_subject", bytes("j1"));

        assertThat(JobEventRecords.decode(plain)).isEqualTo(Optional.empty());
        assertThat(JobEventRecords.decode(otherType)).isEmpty();
        assertThat(JobEventRecords.decode(notJson)).isEmpty();
    }

    private static ConsumerRecord<byte[], byte[]> record(String value) {
        return new ConsumerRecord<>("easel.events", 0, 0L, 0L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                0, 0, bytes("j1"), bytes(value), new RecordHeaders(), Optional.empty());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
