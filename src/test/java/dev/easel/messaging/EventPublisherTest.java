package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.EventsConfig.CloudEventsMode;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.Failed;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** The publisher's records as the broker would receive them. */
class EventPublisherTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final InMemoryRecordSender broker = new InMemoryRecordSender();
    private final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
    private final EventPublisher publisher = publisher(CloudEventsMode.BINARY);

    private EventPublisher publisher(CloudEventsMode mode) {
        return new EventPublisher(broker, "easel.events", "worker-1", mode, 2, clock);
    }

    @Test
    void binaryModeCloudEventHeadersAndKey() throws Exception {
        JobEvent event = publisher.event("", "job-1", new Started("sd-1.5", 250, null), "");
        publisher.publish(event).join();

        ProducerRecord<byte[], byte[]> record = broker.sent.get(0);
        assertThat(record.topic()).isEqualTo("easel.events");
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("job-1");
        assertThat(record.timestamp()).isEqualTo(clock.instant().toEpochMilli());
        assertThat(AckingMessaging.header(record, "ce_specversion")).isEqualTo("1.0");
        assertThat(AckingMessaging.header(record, "ce_id")).isEqualTo(event.id());
        assertThat(AckingMessaging.header(record, "ce_type")).isEqualTo("dev.easel.job.started");
        assertThat(AckingMessaging.header(record, "ce_source")).isEqualTo("/easel/worker/worker-1");
        assertThat(AckingMessaging.header(record, "ce_subject")).isEqualTo("job-1");
        assertThat(AckingMessaging.header(record, "ce_time")).isEqualTo("2026-03-01T12:00:00Z");
        assertThat(AckingMessaging.header(record, "content-type")).isEqualTo("application/json");
        assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"sd-1.5\",\"queueWaitMs\":250}");
    }

    @Test
    void structuredModeCarriesTheWholeEvent() throws Exception {
        EventPublisher structured = publisher(CloudEventsMode.STRUCTURED);
        JobEvent event = structured.event("", "job-1", new Failed("boom", null, false, null), "");
        structured.publish(event).join();

        ProducerRecord<byte[], byte[]> record = broker.sent.get(0);
        assertThat(AckingMessaging.header(record, "content-type")).isEqualTo("application/cloudevents+json");
        assertThat(record.headers().lastHeader("ce_id")).isNull();
        JsonNode envelope = JSON.readTree(record.value());
        assertThat(envelope.path("specversion").asText()).isEqualTo("1.0");
        assertThat(envelope.path("id").asText()).isEqualTo(event.id());
        assertThat(envelope.path("type").asText()).isEqualTo("dev.easel.job.failed");
        assertThat(envelope.path("subject").asText()).isEqualTo("job-1");
        assertThat(envelope.path("datacontenttype").asText()).isEqualTo("application/json");
        assertThat(envelope.at("/data/reason").asText()).isEqualTo("boom");
        // What the topic's readers (the SSE feed) make of it.
        assertThat(JobEventRecords.decode(new org.apache.kafka.clients.consumer.ConsumerRecord<>("easel.events", 0, 0,
                record.key(), record.value()) {
            @Override
            public org.apache.kafka.common.header.Headers headers() {
                return record.headers();
            }
        })).hasValueSatisfying(read -> assertThat(read.id()).isEqualTo(event.id()));
    }

    @Test
    void theSameEventIsTheSameRecordWhoeverPublishesItAgain() {
        JobEvent first = publisher.event("", "job-1", new Failed("boom", null, false, null), "");
        clock.advance(Duration.ofMinutes(5));
        JobEvent later = publisher.event("", "job-1", new Failed("boom", null, false, null), "");

        assertThat(later.id()).isEqualTo(first.id());
        assertThat(publisher.event("", "job-2", new Failed("boom", null, false, null), "").id()).isNotEqualTo(first.id());
        assertThat(publisher.event("", "job-1", new Started("m", 0, null), "").id()).isNotEqualTo(first.id());
        publisher.publish(first).join();
        publisher.publish(first).join();
        assertThat(broker.sent.get(1).value()).isEqualTo(broker.sent.get(0).value());
        assertThat(broker.sent.get(1).headers().toArray()).isEqualTo(broker.sent.get(0).headers().toArray());
    }

    @Test
    void aRefusedSendFailsItsFuture() {
        broker.refuse(1);
        CompletableFuture<Void> refused = publisher.publish(publisher.event("", "job-1", new Started("m", 0, null), ""));
        CompletableFuture<Void> taken = publisher.publish(publisher.event("", "job-1", new Started("m", 0, null), ""));

        assertThat(refused).isCompletedExceptionally();
        assertThat(taken).isCompleted();
    }

    @Test
    void progressIsThrottledButTheLastStepIsSent() throws Exception {
        for (int step = 1; step <= 3; step++) {
            Progress progress = new Progress(step, 3, null);
            publisher.progress(publisher.event("", "job-1", progress, Integer.toString(step)), step, 3);
        }
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (broker.sent.size() < 2 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(50);

        assertThat(broker.sent).extracting(r -> JSON.readTree(r.value()).get("step").asInt()).containsExactly(1, 3);
        assertThat(broker.sent).extracting(r -> AckingMessaging.header(r, "ce_id")).doesNotHaveDuplicates();
    }

    /**
     * A step that cannot be queued (the worker stopping, or the queue full while the broker is
     * away) is dropped at once: its future is done, so the job's final event does not wait for it.
     */
    @Test
    void aStepThatCannotBeQueuedIsDroppedAtOnce() {
        publisher.stop();

        CompletableFuture<Void> last = publisher.progress(publisher.event("", "job-2", new Progress(3, 3, null), "3"), 3, 3);

        assertThat(last).isDone();
        assertThat(broker.sent).isEmpty();
    }

    /** Job ids are per tenant: another tenant's job of the same id neither eats nor resets this one's rate. */
    @Test
    void twoTenantsJobsOfOneIdAreThrottledApart() throws Exception {
        publisher.progress(publisher.event("acme", "job-1", new Progress(1, 3, null), "1"), 1, 3);
        publisher.progress(publisher.event("globex", "job-1", new Progress(1, 3, null), "1"), 1, 3);
        publisher.progress(publisher.event("acme", "job-1", new Progress(2, 3, null), "2"), 2, 3);
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (broker.sent.size() < 2 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(50);

        assertThat(broker.sent).extracting(r -> AckingMessaging.header(r, "ce_easeltenant") + " "
                + JSON.readTree(r.value()).get("step").asInt()).containsExactly("acme 1", "globex 1");
    }

    @Test
    void eventIdsAreUuids() {
        String id = JobEvents.eventId("", "job-1", dev.easel.contract.EventKind.COMPLETED, "");
        assertThat(java.util.UUID.fromString(id).toString()).isEqualTo(id);
    }
}
