package dev.easel.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads everything the worker answers, from the start of the events and dead-letter topics, on a
 * thread of its own for the whole run: every job's events by id (the record key), dead letters by
 * key and by the original record's partition and offset. A plain assigned consumer (no group), so a
 * broker outage only pauses it.
 */
final class Answers implements AutoCloseable {

    static final String CE_TYPE_PREFIX = "dev.easel.job.";

    /** An event on the events topic. {@code value} is kept for final events only. */
    record Event(String type, String ceId, byte[] value, long timestamp, long seenAtMillis) {

        boolean isFinal() {
            return type.equals("completed") || type.equals("failed") || type.equals("cancelled");
        }
    }

    /** A record on the dead-letter topic, with the {@code easel-dlq-*} headers that name its original. */
    record DeadLetter(String key, String originalTopic, int originalPartition, long originalOffset, String reason,
                      int valueBytes) {
    }

    private final String jobsTopic;
    private final String eventsTopic;
    private final String deadLetterTopic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private volatile boolean closed;
    private volatile Throwable failure;

    private final Map<String, List<Event>> eventsByJob = new ConcurrentHashMap<>();
    private final List<Event> started = new CopyOnWriteArrayList<>();
    private final Map<String, List<DeadLetter>> deadLettersByKey = new ConcurrentHashMap<>();
    private final Map<String, List<DeadLetter>> deadLettersByOrigin = new ConcurrentHashMap<>();
    private final AtomicLong records = new AtomicLong();

    Answers(String bootstrapServers, String jobsTopic, String eventsTopic, String deadLetterTopic,
            Map<String, Integer> partitions) {
        this.jobsTopic = jobsTopic;
        this.eventsTopic = eventsTopic;
        this.deadLetterTopic = deadLetterTopic;
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "chaos-answers");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // A dead letter of an oversized record may be close to the broker's 1 MiB record limit.
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(4 << 20));
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
        consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> assigned = new ArrayList<>();
        for (String topic : List.of(eventsTopic, deadLetterTopic)) {
            for (int p = 0; p < partitions.get(topic); p++) {
                assigned.add(new TopicPartition(topic, p));
            }
        }
        consumer.assign(assigned);
        consumer.seekToBeginning(assigned);
        thread = new Thread(this::run, "chaos-answers");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (!closed) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records.incrementAndGet();
                    if (record.topic().equals(eventsTopic)) {
                        onEvent(record);
                    } else if (record.topic().equals(deadLetterTopic)) {
                        onDeadLetter(record);
                    }
                }
            }
        } catch (WakeupException e) {
            // close()
        } catch (Throwable t) {
            failure = t;
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void onEvent(ConsumerRecord<byte[], byte[]> record) {
        String key = string(record.key());
        String type = header(record, "ce_type");
        if (key == null || type == null) {
            return;
        }
        String shortType = type.startsWith(CE_TYPE_PREFIX) ? type.substring(CE_TYPE_PREFIX.length()) : type;
        boolean isFinal = shortType.equals("completed") || shortType.equals("failed") || shortType.equals("cancelled");
        Event event = new Event(shortType, header(record, "ce_id"), isFinal ? record.value() : null, record.timestamp(),
                System.currentTimeMillis());
        eventsByJob.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(event);
        if (shortType.equals("started")) {
            started.add(event);
        }
    }

    private void onDeadLetter(ConsumerRecord<byte[], byte[]> record) {
        String key = string(record.key());
        DeadLetter letter = new DeadLetter(key, header(record, "easel-dlq-topic"), parseInt(header(record, "easel-dlq-partition")),
                parseLong(header(record, "easel-dlq-offset")), header(record, "easel-dlq-reason"),
                record.value() == null ? 0 : record.value().length);
        if (key != null) {
            deadLettersByKey.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(letter);
        }
        if (letter.originalTopic() != null) {
            deadLettersByOrigin.computeIfAbsent(origin(letter.originalTopic(), letter.originalPartition(),
                    letter.originalOffset()), k -> new CopyOnWriteArrayList<>()).add(letter);
        }
    }

    /** Fails if the reading thread died (it would otherwise look like a worker that answers nothing). */
    void check() {
        if (failure != null) {
            throw new IllegalStateException("the answers consumer failed: " + failure, failure);
        }
    }

    long recordsRead() {
        return records.get();
    }

    List<Event> events(String id) {
        return eventsByJob.getOrDefault(id, List.of());
    }

    List<Event> finals(String id) {
        return events(id).stream().filter(Event::isFinal).toList();
    }

    boolean hasStarted(String id) {
        return events(id).stream().anyMatch(e -> e.type().equals("started"));
    }

    /** The job's dead letters: by key, and by where the broker put the record (for keyless or re-keyed ones). */
    List<DeadLetter> deadLetters(SentJob job) {
        List<DeadLetter> found = new ArrayList<>(deadLettersByKey.getOrDefault(job.id(), List.of()));
        for (long[] at : job.acked()) {
            for (DeadLetter letter : deadLettersByOrigin.getOrDefault(origin(jobsTopic, (int) at[0], at[1]), List.of())) {
                if (!found.contains(letter)) {
                    found.add(letter);
                }
            }
        }
        return found;
    }

    /** The first {@code started} event created at or after {@code sinceMillis} (record timestamp, the worker's clock). */
    Optional<Event> firstStartedSince(long sinceMillis) {
        return started.stream().filter(e -> e.timestamp() >= sinceMillis)
                .min((a, b) -> Long.compare(a.timestamp(), b.timestamp()));
    }

    /** Waits for the first {@code started} event created at or after {@code sinceMillis}. */
    Optional<Event> awaitStartedSince(long sinceMillis, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until) {
            check();
            Optional<Event> event = firstStartedSince(sinceMillis);
            if (event.isPresent()) {
                return event;
            }
            Thread.sleep(50);
        }
        return Optional.empty();
    }

    /** Valid jobs started (by any incarnation) at or after {@code sinceMillis} and not answered yet. */
    List<String> runningSince(Collection<SentJob> jobs, long sinceMillis) {
        List<String> running = new ArrayList<>();
        for (SentJob job : jobs) {
            List<Event> events = events(job.id());
            boolean startedSince = events.stream().anyMatch(e -> e.type().equals("started") && e.timestamp() >= sinceMillis);
            if (startedSince && events.stream().noneMatch(Event::isFinal)) {
                running.add(job.id());
            }
        }
        return running;
    }

    /** How many of the jobs got a final event created at or after {@code sinceMillis}. */
    int answeredSince(Collection<SentJob> jobs, long sinceMillis) {
        int answered = 0;
        for (SentJob job : jobs) {
            if (events(job.id()).stream().anyMatch(e -> e.isFinal() && e.timestamp() >= sinceMillis)) {
                answered++;
            }
        }
        return answered;
    }

    /**
     * Whether the job has all the answers it expects: a final event (or, pushed, a 200) for a
     * valid job; a dead letter, and for a readable invalid job a failed event too, for a bad one.
     */
    boolean settled(SentJob job) {
        return switch (job.kind()) {
            case VALID -> !finals(job.id()).isEmpty()
                    || (job.isPushed() && job.push() != null && job.push().status() == 200);
            case INVALID -> !deadLetters(job).isEmpty() && finals(job.id()).stream().anyMatch(e -> e.type().equals("failed"));
            case MALFORMED, OVERSIZED -> !deadLetters(job).isEmpty();
        };
    }

    List<SentJob> unsettled(Collection<SentJob> jobs) {
        return jobs.stream().filter(j -> j.refusedByBroker() == null && !settled(j)).toList();
    }

    int answeredCount(Collection<SentJob> jobs) {
        return (int) jobs.stream().filter(this::settled).count();
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String origin(String topic, int partition, long offset) {
        return topic + "/" + partition + "@" + offset;
    }

    static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String string(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    private static int parseInt(String s) {
        try {
            return s == null ? -1 : Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long parseLong(String s) {
        try {
            return s == null ? -1 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
