package dev.easel.worker;

import dev.easel.messaging.Channels;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Acknowledgment;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Takes job records off the jobs topic and runs each through {@link JobProcessor} on the
 * {@value #POOL} worker pool, at most {@code easel.worker.concurrency} at once. A record is acked
 * only after its answer is published; with auto-commit off, the connector's throttled commit
 * strategy then commits only offsets whose records, and all before them, are acked: a worker that
 * dies mid-job leaves the job to be delivered again (at-least-once).
 *
 * <p>Acknowledgement is manual because some records get neither ack nor nack: those that arrive
 * while the worker shuts down ({@link WorkerLifecycle}), and jobs it cuts off at the end of the
 * grace period. Left pending, they stay uncommitted and run on the next owner of the partition.
 */
@ApplicationScoped
public class JobConsumer {

    /** The worker pool jobs run on; its size is {@code smallrye.messaging.worker.easel-jobs.max-concurrency}. */
    static final String POOL = "easel-jobs";

    private static final Logger LOG = Logger.getLogger(JobConsumer.class);
    private static final CompletionStage<Void> LEFT_PENDING = CompletableFuture.completedFuture(null);

    private final JobProcessor processor;
    private final WorkerLifecycle lifecycle;

    @Inject
    JobConsumer(JobProcessor processor, WorkerLifecycle lifecycle) {
        this.processor = processor;
        this.lifecycle = lifecycle;
    }

    /**
     * An {@link UnansweredJobException} nacks the record, and the channel's {@code fail} strategy
     * stops consumption without committing it: the broker is not taking answers, so the next
     * worker (or this one, restarted) should run the job again rather than lose its answer.
     */
    @Incoming(Channels.JOBS_IN)
    // Unordered: ordered blocking processing would run one record at a time whatever the pool size.
    @Blocking(value = POOL, ordered = false)
    @Acknowledgment(Acknowledgment.Strategy.MANUAL)
    public CompletionStage<Void> consume(Message<byte[]> message) {
        ConsumerRecord<byte[], byte[]> record = record(message);
        if (!lifecycle.begin()) {
            LOG.debugf("shutting down: %s-%d@%d left for another worker", record.topic(), record.partition(),
                    record.offset());
            return LEFT_PENDING;
        }
        try {
            processor.process(record);
            return message.ack();
        } catch (JobAbandonedException e) {
            LOG.infof("%s-%d@%d cut off (%s): left uncommitted", record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            return LEFT_PENDING;
        } catch (UnansweredJobException e) {
            return message.nack(e);
        } finally {
            lifecycle.end();
        }
    }

    @SuppressWarnings("unchecked")
    private static ConsumerRecord<byte[], byte[]> record(Message<byte[]> message) {
        return message.getMetadata(IncomingKafkaRecordMetadata.class)
                .map(metadata -> (ConsumerRecord<byte[], byte[]>) metadata.getRecord())
                .orElseThrow(() -> new IllegalStateException("channel " + Channels.JOBS_IN + " is not a Kafka channel"));
    }
}
