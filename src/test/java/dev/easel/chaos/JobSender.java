package dev.easel.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Puts jobs and fuzz records on the jobs topic the way a careful app does: acks=all, idempotent,
 * and across a broker outage. Records wait in the producer's buffer while the broker is away
 * ({@code delivery.timeout.ms} of 10 minutes); a send that fails anyway is sent again after a
 * pause, until the run's deadline. A job counts once however often it was sent.
 *
 * <p>{@link #send} never blocks its caller: the producer's {@code send} can (up to
 * {@code max.block.ms} when a broker going down took the topic's metadata with it), so the
 * records go to the producer from a thread of their own, in order.
 */
final class JobSender implements AutoCloseable {

    /** Above the 1 MiB default: the fuzz scenario's largest record is 1,048,400 bytes of value. */
    static final int MAX_REQUEST_BYTES = 2 << 20;
    private static final Duration RESEND_PAUSE = Duration.ofSeconds(2);

    private final String topic;
    private final KafkaProducer<byte[], byte[]> producer;
    private final ScheduledExecutorService sending = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "chaos-producer");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger resends = new AtomicInteger();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final long giveUpAtNanos;

    JobSender(String bootstrapServers, String topic, Duration giveUpAfter) {
        this.topic = topic;
        this.giveUpAtNanos = System.nanoTime() + giveUpAfter.toNanos();
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "chaos-jobs");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(MAX_REQUEST_BYTES));
        // Buffer across a broker outage of minutes rather than fail the sends.
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Duration.ofMinutes(10).toMillis()));
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A valid job: key and {@code id} are the job's id, the value its JSON. */
    void send(SentJob job) {
        send(job, job.id().getBytes(StandardCharsets.UTF_8), job.spec().bytes(job.id()), new RecordHeaders());
    }

    /** Any record; the broker's acknowledgement (partition, offset) is recorded on the job. */
    void send(SentJob job, byte[] key, byte[] value, RecordHeaders headers) {
        send(new Outgoing(job, null, key, value, headers));
    }

    /**
     * A valid job once to each of the topic's first {@code partitions} partitions, under its own key:
     * where two workers share them, both get it, as a rebalance gives a second worker an
     * uncommitted record while the first still runs it.
     */
    void sendToEveryPartition(SentJob job, int partitions) {
        for (int p = 0; p < partitions; p++) {
            send(new Outgoing(job, p, job.id().getBytes(StandardCharsets.UTF_8), job.spec().bytes(job.id()),
                    new RecordHeaders()));
        }
    }

    /** A record to send: to {@code partition}, or where the producer puts its key when null. */
    private record Outgoing(SentJob job, Integer partition, byte[] key, byte[] value, RecordHeaders headers) {
    }

    private void send(Outgoing record) {
        record.job().sentAt(System.currentTimeMillis());
        pending.incrementAndGet();
        sending.execute(() -> attempt(record));
    }

    private void attempt(Outgoing record) {
        SentJob job = record.job();
        try {
            producer.send(new ProducerRecord<>(topic, record.partition(), record.key(), record.value(), record.headers()),
                    (metadata, error) -> {
                        if (error == null) {
                            job.ackedAt(metadata.partition(), metadata.offset());
                            pending.decrementAndGet();
                        } else if (!(error instanceof RetriableException)) {
                            // Not a matter of time (record too large, say): sending it again cannot help.
                            job.refusedByBroker(error.toString());
                            failures.add(job.id() + ": " + error);
                            pending.decrementAndGet();
                        } else {
                            retryLater(record, error);
                        }
                    });
        } catch (RuntimeException e) {
            retryLater(record, e);
        }
    }

    private void retryLater(Outgoing record, Throwable error) {
        SentJob job = record.job();
        if (System.nanoTime() > giveUpAtNanos || sending.isShutdown()) {
            failures.add(job.id() + ": " + error);
            pending.decrementAndGet();
            return;
        }
        resends.incrementAndGet();
        try {
            sending.schedule(() -> attempt(record), RESEND_PAUSE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            failures.add(job.id() + ": " + error);
            pending.decrementAndGet();
        }
    }

    /** Waits until every send is acknowledged or given up; true if none is pending. */
    boolean awaitAcked(Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (pending.get() > 0 && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        return pending.get() == 0;
    }

    int pending() {
        return pending.get();
    }

    int resends() {
        return resends.get();
    }

    /** Sends given up (refused for good, or the run's deadline passed): those jobs never reached the broker. */
    List<String> failures() {
        return failures;
    }

    @Override
    public void close() {
        sending.shutdownNow();
        producer.close(Duration.ofSeconds(10));
    }
}
