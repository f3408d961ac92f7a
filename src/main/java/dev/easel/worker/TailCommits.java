package dev.easel.worker;

import dev.easel.config.EventsConfig;
import dev.easel.messaging.Channels;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * Commits an idle jobs partition past its transaction markers. Jobs submitted over HTTP are
 * written in transactions, and each leaves a commit marker after its record; the connector commits
 * the offset after the last record it processed, which is the marker's, and no consumer ever reads
 * past a marker. So every partition that took an HTTP submission kept a lag of 1 once idle, and
 * an autoscaler on consumer lag (KEDA) never scaled the workers to zero.
 *
 * <p>Once a partition has no job in flight for {@link #DELAY} (after the connector's own commit),
 * a consumer of its own, without a group, reads the partition from the committed offset to the
 * end of what is committed (the last stable offset): when that holds no record at all, only
 * markers and aborted submissions, which never run, the group's offset is moved to that end. A
 * record there (a job not yet run, or run and not yet committed) leaves it as it is: nothing is
 * ever skipped. The commit goes through the group's own consumer, on its polling thread, in one
 * step with a last check that the partition is still this worker's, idle, and not committed
 * meanwhile. Every {@link #SWEEP} the idle assigned partitions get a look too.
 */
@ApplicationScoped
public class TailCommits {

    private static final Logger LOG = Logger.getLogger(TailCommits.class);
    /** Past the connector's commit interval (1 s): its commit of the job itself comes first. */
    static final Duration DELAY = Duration.ofSeconds(3);
    private static final Duration WAIT = Duration.ofSeconds(5);
    /** Checks of one partition after its last job: a late commit of the connector gets a second look. */
    private static final int TRIES = 3;
    /** How often every idle assigned partition is looked at, besides the looks after each job. */
    static final Duration SWEEP = Duration.ofSeconds(30);

    private final KafkaClientService clients;
    private final Supplier<Consumer<byte[], byte[]>> probes;
    private final ConcurrentMap<TopicPartition, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final Set<TopicPartition> scheduled = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "easel-tail-commits");
        thread.setDaemon(true);
        return thread;
    });
    /** Used on the scheduler's thread only. */
    private Consumer<byte[], byte[]> probe;

    @Inject
    TailCommits(KafkaClientService clients, EventsConfig events,
                @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this.clients = clients;
        this.probes = CancellationFeed.consumerFactory(kafka, "easel-tail-commits-" + events.instance());
        scheduler.scheduleWithFixedDelay(this::sweep, SWEEP.toMillis(), SWEEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A job record of this partition is being handled. */
    void started(ConsumerRecord<?, ?> record) {
        inFlight.computeIfAbsent(partition(record), tp -> new AtomicInteger()).incrementAndGet();
    }

    /** Its handling ended; {@code acked}: it was answered (else it is left for another worker). */
    void ended(ConsumerRecord<?, ?> record, boolean acked) {
        TopicPartition tp = partition(record);
        inFlight.get(tp).decrementAndGet();
        if (acked) {
            schedule(tp, TRIES);
        }
    }

    private void schedule(TopicPartition tp, int tries) {
        if (scheduled.add(tp)) {
            try {
                scheduler.schedule(() -> check(tp, tries), DELAY.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                scheduled.remove(tp); // shutting down
            }
        }
    }

    private void check(TopicPartition tp, int tries) {
        scheduled.remove(tp);
        try {
            if (busy(tp)) {
                return; // its end schedules the next look
            }
            KafkaConsumer<Object, Object> group = clients.getConsumer(Channels.JOBS_IN);
            if (group == null) {
                return;
            }
            // The group's offset, or none yet (then it starts at the log's start, auto.offset.reset=earliest).
            Optional<Tail> tail = group.runOnPollingThread(c -> c.assignment().contains(tp)
                    ? Optional.of(new Tail(committed(c, tp), c.beginningOffsets(List.of(tp)).get(tp)))
                    : Optional.<Tail>empty()).await().atMost(WAIT);
            if (tail.isEmpty()) {
                return;
            }
            Consumer<byte[], byte[]> reader = probe();
            long stable = reader.endOffsets(List.of(tp), WAIT).get(tp);
            long from = tail.get().from();
            if (from >= stable) {
                return;
            }
            if (!noRecordBetween(reader, tp, from, stable)) {
                if (tries > 1) {
                    schedule(tp, tries - 1);
                }
                return;
            }
            // Checked again where the commit is made, in one step on the polling thread: still this
            // worker's partition, nothing in flight, and no commit of the connector's since the read.
            boolean moved = group.runOnPollingThread(c -> {
                if (!c.assignment().contains(tp) || busy(tp) || !Objects.equals(committed(c, tp), tail.get().committed())) {
                    return false;
                }
                c.commitSync(Map.of(tp, new OffsetAndMetadata(stable)));
                return true;
            }).await().atMost(WAIT);
            if (moved) {
                LOG.debugf("%s: committed %d past transaction markers (was %d)", tp, stable, from);
            }
        } catch (RuntimeException e) {
            LOG.debugf("%s: not committed past its markers: %s", tp, e.toString());
        }
    }

    /** What the group has of a partition: its committed offset (null: none yet) and where reading starts. */
    private record Tail(Long committed, long start) {
        long from() {
            return committed == null ? start : committed;
        }
    }

    private static Long committed(Consumer<?, ?> consumer, TopicPartition tp) {
        OffsetAndMetadata offset = consumer.committed(Set.of(tp)).get(tp);
        return offset == null ? null : offset.offset();
    }

    private boolean busy(TopicPartition tp) {
        AtomicInteger running = inFlight.get(tp);
        return running != null && running.get() > 0;
    }

    /**
     * Every assigned partition with nothing in flight gets a look now and then: one that took no
     * job here (an aborted submission only, or its last job answered by the worker before this one)
     * gets no look from {@link #ended} at all.
     */
    private void sweep() {
        try {
            KafkaConsumer<Object, Object> group = clients.getConsumer(Channels.JOBS_IN);
            if (group == null) {
                return;
            }
            for (TopicPartition tp : group.getAssignments().await().atMost(WAIT)) {
                if (!busy(tp)) {
                    schedule(tp, 1);
                }
            }
        } catch (RuntimeException e) {
            LOG.debugf("tail commits: no sweep now: %s", e.toString());
        }
    }

    /** Whether the committed records of [from, to) are none: markers and aborted records only. */
    private static boolean noRecordBetween(Consumer<byte[], byte[]> reader, TopicPartition tp, long from, long to) {
        reader.assign(List.of(tp));
        reader.seek(tp, from);
        long until = System.nanoTime() + WAIT.toNanos();
        while (reader.position(tp, WAIT) < to) {
            for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(200)).records(tp)) {
                if (record.offset() < to) {
                    return false;
                }
            }
            if (System.nanoTime() > until) {
                return false;
            }
        }
        return true;
    }

    private Consumer<byte[], byte[]> probe() {
        if (probe == null) {
            probe = probes.get();
        }
        return probe;
    }

    @PreDestroy
    void stop() {
        scheduler.shutdownNow();
        try {
            if (scheduler.awaitTermination(WAIT.toMillis(), TimeUnit.MILLISECONDS) && probe != null) {
                probe.close(Duration.ofSeconds(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static TopicPartition partition(ConsumerRecord<?, ?> record) {
        return new TopicPartition(record.topic(), record.partition());
    }
}
