package dev.easel.messaging;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * Sends each record in its own Kafka transaction, so that a send that failed cannot land later:
 * a record whose send is not acknowledged in time is aborted (and the coordinator aborts it by
 * itself after {@code transaction.timeout.ms} if the abort cannot reach it), and the jobs
 * consumer reads committed records only ({@code isolation.level=read_committed}). Then "not
 * queued" is a promise the HTTP API can make. What stays unknown is only a commit whose answer
 * was lost: {@link Unconfirmed}.
 *
 * <p>One transaction at a time (a producer has one open transaction); submissions queue on this
 * object's lock. A job costs seconds of a GPU, a submission milliseconds of the broker.
 */
public final class TransactionalSender implements RecordSender, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(TransactionalSender.class);

    /** The record was not written and never will be. */
    public static final class NotQueued extends KafkaException {
        NotQueued(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The commit's outcome is unknown: the record may or may not become visible. */
    public static final class Unconfirmed extends KafkaException {
        Unconfirmed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Map<String, Object> config;
    private final Duration timeout;
    private KafkaProducer<byte[], byte[]> producer; // guarded by this

    /**
     * @param kafka   the application's {@code kafka.*} settings plus the producer's own
     * @param clientId the producer's client id; its transactional id adds a random part, unique per process
     * @param timeout how long a send, commit or abort may take
     */
    public TransactionalSender(Map<String, Object> kafka, String clientId, Duration timeout) {
        Map<String, Object> config = new HashMap<>(KafkaRecordSender.reliable(kafka, clientId, timeout));
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, clientId + "-" + UUID.randomUUID());
        // An open transaction of a process that died is aborted by the coordinator after this long.
        config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Math.max(timeout.toMillis() * 2, 10_000));
        config.keySet().removeIf(key -> !ProducerConfig.configNames().contains(key));
        this.config = config;
        this.timeout = timeout;
    }

    /**
     * Sends the record in a transaction and commits it; blocks. The future is done when this
     * returns: failed with {@link NotQueued} or {@link Unconfirmed} when not committed.
     */
    @Override
    public synchronized CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record) {
        try {
            ensureProducer();
            producer.beginTransaction();
        } catch (KafkaException e) {
            discardProducer();
            return CompletableFuture.failedFuture(new NotQueued("no transaction could begin: " + e, e));
        }
        try {
            Future<RecordMetadata> sent = producer.send(record);
            sent.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            return CompletableFuture.failedFuture(new NotQueued("interrupted", e));
        } catch (ExecutionException | java.util.concurrent.TimeoutException | KafkaException e) {
            abort();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            return CompletableFuture.failedFuture(new NotQueued("the broker did not take it: " + cause, cause));
        }
        try {
            producer.commitTransaction();
            return CompletableFuture.completedFuture(null);
        } catch (KafkaException e) {
            // The commit may have reached the coordinator: its outcome is unknown here.
            discardProducer();
            return CompletableFuture.failedFuture(new Unconfirmed("the commit was not confirmed: " + e, e));
        }
    }

    private void abort() {
        try {
            producer.abortTransaction();
        } catch (KafkaException e) {
            // The coordinator aborts it at transaction.timeout.ms; this producer is no use now.
            LOG.debugf("abort not confirmed (the coordinator will abort at its timeout): %s", e.toString());
            discardProducer();
        }
    }

    private void ensureProducer() {
        if (producer == null) {
            Map<String, Object> fresh = new HashMap<>(config);
            // A new transactional id: a producer discarded mid-transaction may still hold the old one.
            fresh.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.get(ProducerConfig.CLIENT_ID_CONFIG) + "-"
                    + UUID.randomUUID());
            KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(fresh, new ByteArraySerializer(),
                    new ByteArraySerializer());
            try {
                created.initTransactions();
            } catch (KafkaException e) {
                created.close(Duration.ZERO);
                throw e;
            }
            producer = created;
        }
    }

    private void discardProducer() {
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
        }
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
    }
}
