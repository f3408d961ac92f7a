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
 * The Kafka way in: takes job records off the jobs topic and runs each through {@link Jobs} on the
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

    private final Jobs jobs;
    private final WorkerLifecycle lifecycle;
    private final TailCommits tails;

    @Inject
    JobConsumer(Jobs jobs, WorkerLifecycle lifecycle, TailCommits tails) {
        this.jobs = jobs;
        this.lifecycle = lifecycle;
        this.tails = tails;
    }

    /**
     * Does not nack: a nack would stop the channel (its {@code fail} strategy) and with it every job
     * behind this one. A job is acked once answered ({@link Jobs#pulled} answers even its own
     * faults); one cut off by shutdown is left pending. Only a worker that cannot build its job
     * path at all throws here: the channel stops, health reports it, and the pod is restarted.
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
        tails.started(record);
        boolean acked = false;
        try {
            jobs.pulled(record);
            acked = true;
            return message.ack();
        } catch (JobAbandonedException | UnansweredJobException e) {
            LOG.infof("%s-%d@%d cut off (%s): left uncommitted", record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            return LEFT_PENDING;
        } finally {
            tails.ended(record, acked);
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
