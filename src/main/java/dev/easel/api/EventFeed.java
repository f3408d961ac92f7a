package dev.easel.api;

import dev.easel.config.EventsConfig;
import dev.easel.config.SseConfig;
import dev.easel.config.TopicsConfig;
import dev.easel.messaging.JobEventRecords;
import dev.easel.security.FairUse;
import dev.easel.security.Tenants;
import dev.easel.worker.WorkerLifecycle;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
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
 * Reads the events topic for this process's event streams and hands each job's events to the
 * {@link JobEventHub}. The job may run on any worker of the fleet, so the topic, which every process
 * can read, is the source, not this process's own jobs.
 *
 * <p>One plain consumer on its own thread, assigned every partition of the topic, with no consumer
 * group: each process needs every event, from now on, and has nothing to commit; without a group,
 * processes coming and going cause no rebalances and leave no groups behind. It starts at the end of
 * the partitions that exist at startup; partitions found later (the topic created by the first
 * event, or grown) are read from their beginning. Broker settings are the application's
 * {@code kafka.*} ones, as for the messaging channels.
 *
 * <p>It also tells {@link FairUse} when a job submitted here is answered, wherever it ran: so it runs
 * whenever tenants have limits ({@code easel.security.enabled}), even with event streams off
 * ({@code easel.sse.enabled=false}), when it decodes only the records of jobs that fair use counts.
 * Otherwise a tenant's in-flight jobs would be freed only after an hour. Off when neither is on.
 */
@ApplicationScoped
public class EventFeed {

    private static final Logger LOG = Logger.getLogger(EventFeed.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(10);
    /** How often to look for the topic while it does not exist, and for new partitions once it does. */
    private static final Duration LOOK_FOR_TOPIC = Duration.ofSeconds(1);
    private static final Duration LOOK_FOR_PARTITIONS = Duration.ofSeconds(30);

    private final boolean enabled;
    private final boolean forFairUse;
    private final String topic;
    private final Map<String, Object> consumerConfig;
    private final JobEventHub hub;
    private final FairUse fairUse;
    private volatile boolean running;
    private Thread thread;
    private KafkaConsumer<byte[], byte[]> consumer;

    @Inject
    EventFeed(SseConfig sse, TopicsConfig topics, EventsConfig events,
              @Identifier("default-kafka-broker") Map<String, Object> kafka, JobEventHub hub, FairUse fairUse,
              Tenants tenants) {
        this.fairUse = fairUse;
        this.enabled = sse.enabled();
        // Without security every job is the default tenant's, whose limits are unbounded: nothing to free.
        this.forFairUse = tenants.enabled();
        this.topic = topics.events();
        this.hub = hub;
        Map<String, Object> config = new HashMap<>(kafka);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "easel-sse-" + events.instance());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Creating the topic is the deployment's (or the first event's) business, not a reader's.
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumerConfig = Map.copyOf(config);
    }

    /** Whether this process serves event streams ({@code easel.sse.enabled}). */
    public boolean enabled() {
        return enabled;
    }

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            LOG.info("job event streams are off (easel.sse.enabled=false)"
                    + (forFairUse ? "; the events topic is still read, for fair use's jobs in flight" : ""));
        }
        if (!enabled && !forFairUse) {
            return;
        }
        consumer = new KafkaConsumer<>(consumerConfig);
        running = true;
        thread = new Thread(this::run, "easel-event-feed");
        thread.setDaemon(true);
        thread.start();
    }

    /** Early among shutdown observers: open streams end at once rather than hold the HTTP server up. */
    void onStop(@Observes @Priority(WorkerLifecycle.DRAIN_PRIORITY - 500) ShutdownEvent event) {
        hub.closeAll("server shutting down; reconnect for the job's current state");
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
    }

    private void run() {
        Set<TopicPartition> assigned = Set.of();
        boolean startup = true;
        long lookAt = 0;
        try {
            while (running) {
                try {
                    if (System.nanoTime() - lookAt >= 0) {
                        Set<TopicPartition> found = partitions();
                        if (!found.equals(assigned)) {
                            assign(found, assigned, startup);
                            assigned = found;
                        }
                        startup = false;
                        lookAt = System.nanoTime() + (found.isEmpty() ? LOOK_FOR_TOPIC : LOOK_FOR_PARTITIONS).toNanos();
                    }
                    if (assigned.isEmpty()) {
                        Thread.sleep(LOOK_FOR_TOPIC.toMillis());
                        continue;
                    }
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                        String jobId = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
                        if (hub.wants(jobId) || fairUse.tracksAny(jobId)) {
                            JobEventRecords.decode(record).ifPresent(event -> {
                                hub.publish(event);
                                if (JobEventRecords.isFinal(event.type())) {
                                    fairUse.answered(event.tenant(), event.subject());
                                }
                            });
                        }
                    }
                } catch (WakeupException | InterruptException | InterruptedException e) {
                    if (running) {
                        LOG.debug("event feed woken up while running; going on");
                    }
                } catch (KafkaException e) {
                    LOG.warnf("event feed: %s; trying again", e.toString());
                    sleepQuietly();
                }
            }
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private Set<TopicPartition> partitions() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, METADATA_TIMEOUT);
        return infos == null ? Set.of() : infos.stream()
                .map(info -> new TopicPartition(info.topic(), info.partition()))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Partitions there at startup are read from their end; any found later, from their beginning. */
    private void assign(Set<TopicPartition> found, Set<TopicPartition> before, boolean startup) {
        Set<TopicPartition> added = new HashSet<>(found);
        added.removeAll(before);
        consumer.assign(found);
        if (startup) {
            consumer.seekToEnd(added);
        } else {
            consumer.seekToBeginning(added);
        }
        added.forEach(consumer::position); // resolve the seek now, not at the first poll
        LOG.infof("event feed reading %s, partitions %s (%s)", topic,
                found.stream().map(TopicPartition::partition).sorted().toList(), startup ? "from now on" : "new ones from their start");
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(LOOK_FOR_TOPIC.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
