package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.messaging.CancelRecords;
import dev.easel.messaging.CancelRecords.CancelRequest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The control topic's records into {@link Cancellations}, and the feed's catch-up at startup, over a MockConsumer. */
class CancellationFeedTest {

    private static final String TOPIC = "easel.jobs.control";
    private static final Instant NOW = Instant.parse("2030-01-10T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    private static final TopicPartition P1 = new TopicPartition(TOPIC, 1);

    private final Cancellations cancellations = new Cancellations();
    private final CancellationFeed feed = new CancellationFeed(true, TOPIC, cancellations, () -> {
        throw new AssertionError("no consumer in this test");
    }, CLOCK);

    @Test
    void aCancellationIsRecordedWithItsReason() {
        feed.apply(record(0, "j1", "{\"id\": \"j1\", \"reason\": \"user pressed stop\", \"requestedAt\": \"2030-01-10T11:59:00Z\"}"));

        assertThat(cancellations.reason("default", "j1")).hasValue("user pressed stop");
        assertThat(cancellations.reason("default", "j2")).isEmpty();
    }

    @Test
    void whatTheApiWritesTheFeedReads() {
        CancelRequest sent = new CancelRequest("acme", "order-1234.variant_a", "too slow",
                Instant.parse("2030-01-10T11:00:00.123Z"));
        ProducerRecord<byte[], byte[]> record = CancelRecords.record(TOPIC, sent);

        assertThat(record.topic()).isEqualTo(TOPIC);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("acme/order-1234.variant_a");
        assertThat(new String(record.value(), StandardCharsets.UTF_8))
                .isEqualTo("{\"tenant\":\"acme\",\"id\":\"order-1234.variant_a\",\"reason\":\"too slow\",\"requestedAt\":\"2030-01-10T11:00:00.123Z\"}");
        assertThat(CancelRecords.decode(record.key(), record.value(), -1)).hasValue(sent);
    }

    @Test
    void aRecordMayLeaveOutItsIdReasonAndTime() {
        long timestamp = NOW.minusSeconds(5).toEpochMilli();

        Optional<CancelRequest> decoded = CancelRecords.decode(bytes("j1"), bytes("{\"extra\": 1}"), timestamp);

        assertThat(decoded).hasValue(new CancelRequest("default", "j1", "no reason given", Instant.ofEpochMilli(timestamp)));
        assertThat(CancelRecords.decode(null, bytes("{\"id\": \"j2\", \"requestedAt\": \"2030-01-10T13:00:00+01:00\"}"), 0))
                .hasValueSatisfying(r -> {
                    assertThat(r.jobId()).isEqualTo("j2");
                    assertThat(r.requestedAt()).isEqualTo(Instant.parse("2030-01-10T12:00:00Z"));
                });
    }

    @Test
    void unreadableRecordsAreSkippedAndTheFeedGoesOn() {
        List<String> bad = List.of("not json", "[\"j1\"]", "\"j1\"", "", "{\"id\": 7}", "{\"id\": \"other\"}",
                "{\"reason\": 7}", "{\"requestedAt\": \"yesterday\"}", "{\"requestedAt\": 1700000000}");
        for (String value : bad) {
            assertThatThrownBy(() -> CancelRecords.decode(bytes("j1"), bytes(value), 0)).as(value)
                    .isInstanceOf(IllegalArgumentException.class);
            feed.apply(record(0, "j1", value));
        }
        assertThatThrownBy(() -> CancelRecords.decode(null, bytes("{\"reason\": \"x\"}"), 0))
                .hasMessageContaining("no job id");

        feed.apply(record(1, "j2", "{\"reason\": \"fine\"}"));

        assertThat(cancellations.reason("default", "j1")).isEmpty();
        assertThat(cancellations.reason("default", "j2")).hasValue("fine");
    }

    @Test
    void tombstonesAndCancellationsOlderThanTheyAreKeptCancelNothing() {
        feed.apply(new ConsumerRecord<>(TOPIC, 0, 0, bytes("j1"), null));
        Instant old = NOW.minus(Cancellations.KEEP).minusSeconds(1);
        feed.apply(record(1, "j2", "{\"requestedAt\": \"" + old + "\"}"));

        assertThat(CancelRecords.decode(bytes("j1"), null, 0)).isEmpty();
        assertThat(cancellations.reason("default", "j1")).isEmpty();
        assertThat(cancellations.reason("default", "j2")).isEmpty();
    }

    @Test
    void cancellationsMadeBeforeStartupAreReadBeforeTheFeedCallsItselfCaughtUp() throws Exception {
        MockConsumer<byte[], byte[]> consumer = consumer(Map.of(P0, 2L, P1, 1L));
        CancellationFeed started = new CancellationFeed(true, TOPIC, cancellations, () -> consumer, CLOCK);
        // Records can only be added once the partitions are assigned: at the first poll. P1's comes a poll later.
        consumer.schedulePollTask(() -> {
            consumer.addRecord(record(P0, 0, "old-1", "{\"reason\": \"first\"}"));
            consumer.addRecord(record(P0, 1, "old-2", "{\"reason\": \"second\"}"));
        });
        AtomicBoolean caughtUpBeforeP1 = new AtomicBoolean(true);
        consumer.schedulePollTask(() -> {
            caughtUpBeforeP1.set(started.caughtUp());
            consumer.addRecord(record(P1, 0, "old-3", "{\"reason\": \"third\"}"));
        });

        started.start();
        try {
            // A job asking meanwhile waits for the catch-up, then sees the old cancellations.
            assertThat(CompletableFuture.supplyAsync(() -> cancellations.reason("default", "old-3")).get(10, TimeUnit.SECONDS))
                    .hasValue("third");
            assertThat(caughtUpBeforeP1).as("caught up before P1 was read").isFalse();
            assertThat(started.caughtUp()).isTrue();
            assertThat(cancellations.reason("default", "old-1")).hasValue("first");
            assertThat(cancellations.reason("default", "old-2")).hasValue("second");
            assertThat(new CancellationsReadiness(started).call().getStatus().name()).isEqualTo("UP");

            // And one made afterwards.
            consumer.schedulePollTask(() -> consumer.addRecord(record(P0, 2, "new", "{\"reason\": \"later\"}")));
            await(() -> cancellations.reason("default", "new").isPresent());
        } finally {
            started.stop();
        }
        assertThat(consumer.closed()).isTrue();
    }

    @Test
    void readinessIsDownUntilCaughtUp() {
        MockConsumer<byte[], byte[]> consumer = consumer(Map.of(P0, 1L, P1, 0L));
        CancellationFeed waiting = new CancellationFeed(true, TOPIC, cancellations, () -> consumer, CLOCK);
        CancellationsReadiness readiness = new CancellationsReadiness(waiting);
        // Nothing is ever added for offset 0 of P0: the feed never reaches its startup end.
        waiting.start();
        try {
            assertThat(readiness.call().getStatus().name()).isEqualTo("DOWN");
            assertThat(readiness.call().getData()).hasValueSatisfying(d -> assertThat(d).containsEntry("topic", TOPIC));
            assertThat(cancellations.isCaughtUp()).isFalse();
        } finally {
            waiting.stop();
        }
    }

    @Test
    void aTopicThatDoesNotExistYetHasNothingToCatchUpWith() {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        CancellationFeed feed = new CancellationFeed(true, TOPIC, cancellations, () -> consumer, CLOCK);

        feed.start();
        try {
            await(feed::caughtUp);
            assertThat(cancellations.isCaughtUp()).isTrue();
        } finally {
            feed.stop();
        }
    }

    @Test
    void offItIsReadyAndReadsNothing() {
        CancellationFeed off = new CancellationFeed(false, TOPIC, cancellations, () -> {
            throw new AssertionError("no consumer when off");
        }, CLOCK);

        off.start();

        assertThat(off.caughtUp()).isTrue();
        assertThat(new CancellationsReadiness(off).call().getStatus().name()).isEqualTo("UP");
        assertThat(cancellations.reason("default", "j1")).isEmpty();
        off.stop();
    }

    @Test
    void aJobDoesNotWaitForTheCatchUpLongerThanTheBound() {
        cancellations.catchingUp(Duration.ofMillis(200));
        long start = System.nanoTime();

        assertThat(cancellations.reason("default", "j1")).isEmpty();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(150), Duration.ofSeconds(5));
        assertThat(cancellations.isCaughtUp()).isFalse();
        long again = System.nanoTime();
        assertThat(cancellations.reason("default", "j1")).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - again)).as("waits once, not on every step")
                .isLessThan(Duration.ofMillis(100));
        cancellations.caughtUp();
        assertThat(cancellations.isCaughtUp()).isTrue();
    }

    private static MockConsumer<byte[], byte[]> consumer(Map<TopicPartition, Long> ends) {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions(TOPIC, ends.keySet().stream().sorted(Comparator.comparingInt(TopicPartition::partition))
                .map(tp -> new PartitionInfo(TOPIC, tp.partition(), node, new Node[] {node}, new Node[] {node})).toList());
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
        consumer.updateEndOffsets(ends);
        return consumer;
    }

    private static void await(BooleanSupplier condition) {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("not within 10 s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, String key, String value) {
        return record(P0, offset, key, value);
    }

    private static ConsumerRecord<byte[], byte[]> record(TopicPartition tp, long offset, String key, String value) {
        return new ConsumerRecord<>(tp.topic(), tp.partition(), offset, bytes(key), bytes(value));
    }

    private static byte[] bytes(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
