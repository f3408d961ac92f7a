package dev.easel.worker;

import dev.easel.config.EventsConfig;
import dev.easel.config.TopicsConfig;
import dev.easel.config.WorkerConfig;
import dev.easel.messaging.CancelRecords;
import dev.easel.messaging.CancelRecords.CancelRequest;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * Reads the control topic ({@code easel.topics.control}) into {@link Cancellations}: a job may be
 * taken by any worker of the fleet, so every worker hears every cancellation. Records are keyed by
 * job id, their value {@code {"id", "reason", "requestedAt"}} ({@link CancelRecords}); one that is
 * no cancellation is skipped with a warning.
 *
 * <p>One plain consumer on its own daemon thread, assigned every partition of the topic, with no
 * consumer group (nothing to commit, no rebalances as workers come and go), reading committed
 * records only ({@code DELETE /v1/jobs/{id}} writes them in transactions). Unlike the event feed it
 * reads <em>from the beginning</em>: a worker started after a cancellation must still know it. The
 * topic is meant to be compacted by job id with a retention of at least {@link Cancellations#KEEP},
 * so that beginning is short. Until it has read up to the end offsets the partitions had at
 * startup, the {@code cancellations} readiness check ({@link CancellationsReadiness}) is DOWN and
 * {@link Cancellations#reason} waits (at most {@link #CATCH_UP_WAIT}). A broker outage is waited
 * out, as by the event feed; the feed stops after the shutdown drain, so a job finishing in the
 * grace period can still be cancelled. Off with {@code easel.worker.cancellations-enabled=false}.
 */
@ApplicationScoped
public class CancellationFeed {

    /** How long a job waits for the feed to catch up at startup before it runs without it. */
    static final Duration CATCH_UP_WAIT = Duration.ofSeconds(30);

    private static final Logger LOG = Logger.getLogger(CancellationFeed.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(10);
    /** How often to look for the topic while it does not exist, and for new partitions once it does. */
    private static final Duration LOOK_FOR_TOPIC = Duration.ofSeconds(1);
    private static final Duration LOOK_FOR_PARTITIONS = Duration.ofSeconds(30);

    private final boolean enabled;
    private final String topic;
    private final Cancellations cancellations;
    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final Clock clock;
    private volatile boolean running;
    private volatile boolean caughtUp;
    private Thread thread;
    private Consumer<byte[], byte[]> consumer;
    // The feed thread's own:
    private Set<TopicPartition> assigned = Set.of();
    /** The end offsets the partitions had at startup; null until known, empty once reached. */
    private Map<TopicPartition, Long> startupEnds;
    private long lookAt;
    private long read;

    @Inject
    CancellationFeed(WorkerConfig worker, TopicsConfig topics, EventsConfig events,
                     @Identifier("default-kafka-broker") Map<String, Object> kafka, Cancellations cancellations) {
        this(worker.cancellationsEnabled(), topics.control(), cancellations,
                consumerFactory(kafka, "easel-cancellations-" + events.instance()), Clock.systemUTC());
    }

    CancellationFeed(boolean enabled, String topic, Cancellations cancellations,
                     Supplier<Consumer<byte[], byte[]>> consumers, Clock clock) {
        this.enabled = enabled;
        this.topic = topic;
        this.cancellations = cancellations;
        this.consumers = consumers;
        this.clock = clock;
    }

    /** A consumer of committed records, without a group, over the application's {@code kafka.*} settings. */
    static Supplier<Consumer<byte[], byte[]>> consumerFactory(Map<String, Object> kafka, String clientId) {
        Map<String, Object> config = new HashMap<>(kafka);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Cancellations are written in transactions: an aborted one cancels nothing.
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Where retention removed what the feed was about to read: what is left, from its start.
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Creating the topic is the deployment's (or the first cancellation's) business, not a reader's.
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Map<String, Object> fixed = Map.copyOf(config);
        return () -> new KafkaConsumer<>(fixed);
    }

    /** Whether this process reads cancellations ({@code easel.worker.cancellations-enabled}). */
    public boolean enabled() {
        return enabled;
    }

    /** Whether every cancellation made before this process started has been read. */
    public boolean caughtUp() {
        return caughtUp;
    }

    String topic() {
        return topic;
    }

    /** First among startup observers: jobs must find {@link Cancellations} catching up, not empty. */
    void onStart(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent event) {
        start();
    }

    /** After the drain: a job finishing in the grace period can still be cancelled. */
    void onStop(@Observes @Priority(WorkerLifecycle.AFTER_DRAIN_PRIORITY) ShutdownEvent event) {
        stop();
    }

    synchronized void start() {
        if (!enabled) {
            LOG.info("job cancellations are off (easel.worker.cancellations-enabled=false)");
            caughtUp = true;
            return;
        }
        if (thread != null) {
            return;
        }
        cancellations.catchingUp(CATCH_UP_WAIT);
        consumer = consumers.get();
        running = true;
        thread = new Thread(this::run, "easel-cancellation-feed");
        thread.setDaemon(true);
        thread.start();
    }

    synchronized void stop() {
        if (thread == null) {
            return;
        }
        running = false;
        consumer.wakeup();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread = null;
    }

    private void run() {
        try {
            while (running) {
                try {
                    step();
                } catch (WakeupException | InterruptException | InterruptedException e) {
                    if (running) {
                        LOG.debug("cancellation feed woken up while running; going on");
                    }
                } catch (KafkaException e) {
                    LOG.warnf("cancellation feed: %s; trying again", e.toString());
                    sleepQuietly();
                } catch (RuntimeException e) {
                    // A bug must not end the feed for good: this worker would stop hearing of cancellations.
                    LOG.errorf(e, "cancellation feed failed; trying again");
                    sleepQuietly();
                }
            }
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    /** One round: the partitions when it is time to look, then a poll, then whether it caught up. */
    private void step() throws InterruptedException {
        if (System.nanoTime() - lookAt >= 0) {
            Set<TopicPartition> found = partitions();
            if (!found.equals(assigned)) {
                assign(found);
            }
            if (startupEnds == null) {
                startupEnds = found.isEmpty() ? Map.of() : new HashMap<>(consumer.endOffsets(found, METADATA_TIMEOUT));
                if (found.isEmpty()) {
                    LOG.infof("control topic %s does not exist (yet): no cancellations to read at startup", topic);
                }
            }
            lookAt = System.nanoTime() + (found.isEmpty() ? LOOK_FOR_TOPIC : LOOK_FOR_PARTITIONS).toNanos();
        }
        checkCaughtUp();
        if (assigned.isEmpty()) {
            Thread.sleep(LOOK_FOR_TOPIC.toMillis());
            return;
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
            apply(record);
        }
        checkCaughtUp();
    }

    /** Feeds one record of the control topic to {@link Cancellations}; skips one that is no cancellation. */
    void apply(ConsumerRecord<byte[], byte[]> record) {
        read++;
        long timestamp = record.timestamp() >= 0 ? record.timestamp() : clock.millis();
        Optional<CancelRequest> decoded;
        try {
            decoded = CancelRecords.decode(record.key(), record.value(), timestamp);
        } catch (IllegalArgumentException e) {
            LOG.warnf("control record %s-%d@%d skipped: %s", record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            return;
        }
        if (decoded.isEmpty()) {
            return; // a tombstone: compaction's way of forgetting a cancellation, which cancels nothing
        }
        CancelRequest request = decoded.get();
        Instant now = clock.instant();
        if (request.requestedAt().isBefore(now.minus(Cancellations.KEEP))) {
            LOG.debugf("cancellation of job %s skipped: made at %s, more than %s ago", request.jobId(),
                    request.requestedAt(), Cancellations.KEEP);
            return;
        }
        cancellations.cancel(request.tenant(), request.jobId(), request.reason(), request.requestedAt().toEpochMilli());
        if (caughtUp) {
            LOG.infof("job %s cancelled by its submitter (%s)", request.jobId(), request.reason());
        } else {
            LOG.debugf("job %s was cancelled at %s (%s)", request.jobId(), request.requestedAt(), request.reason());
        }
    }

    private void checkCaughtUp() {
        if (caughtUp || startupEnds == null) {
            return;
        }
        for (Map.Entry<TopicPartition, Long> end : startupEnds.entrySet()) {
            // A partition gone since (the topic deleted) has nothing left to read.
            if (assigned.contains(end.getKey()) && consumer.position(end.getKey(), METADATA_TIMEOUT) < end.getValue()) {
                return;
            }
        }
        startupEnds = Map.of();
        caughtUp = true;
        cancellations.caughtUp();
        LOG.infof("cancellation feed caught up with %s: %d record(s) read", topic, read);
    }

    private Set<TopicPartition> partitions() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, METADATA_TIMEOUT);
        return infos == null ? Set.of() : infos.stream()
                .map(info -> new TopicPartition(info.topic(), info.partition()))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Every partition is read from its beginning, those there at startup and those found later alike. */
    private void assign(Set<TopicPartition> found) {
        Set<TopicPartition> added = new HashSet<>(found);
        added.removeAll(assigned);
        consumer.assign(found);
        consumer.seekToBeginning(added);
        added.forEach(tp -> consumer.position(tp, METADATA_TIMEOUT)); // resolve the seek now, not at the first poll
        assigned = found;
        LOG.infof("cancellation feed reading %s, partitions %s (new ones from their beginning)", topic,
                found.stream().map(TopicPartition::partition).sorted().toList());
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(LOOK_FOR_TOPIC.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
