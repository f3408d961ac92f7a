package dev.easel.worker;

import dev.easel.messaging.Channels;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Acknowledgment;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * Takes job records off the jobs topic and runs each through {@link JobProcessor} on the
 * {@value #POOL} worker pool, at most {@code easel.worker.concurrency} at once. A record is acked
 * only after its answer is published ({@code POST_PROCESSING}); with auto-commit off, the
 * connector's throttled commit strategy then commits only offsets whose records, and all before
 * them, are acked: a worker that dies mid-job leaves the job to be delivered again (at-least-once).
 */
@ApplicationScoped
public class JobConsumer {

    /** The worker pool jobs run on; its size is {@code smallrye.messaging.worker.easel-jobs.max-concurrency}. */
    static final String POOL = "easel-jobs";

    private final JobProcessor processor;

    @Inject
    JobConsumer(JobProcessor processor) {
        this.processor = processor;
    }

    /**
     * An {@link UnansweredJobException} nacks the record, and the channel's {@code fail} strategy
     * stops consumption without committing it: the broker is not taking answers, so the next
     * worker (or this one, restarted) should run the job again rather than lose its answer.
     */
    @Incoming(Channels.JOBS_IN)
    // Unordered: ordered blocking processing would run one record at a time whatever the pool size.
    @Blocking(value = POOL, ordered = false)
    @Acknowledgment(Acknowledgment.Strategy.POST_PROCESSING)
    public void consume(ConsumerRecord<byte[], byte[]> record) {
        processor.process(record);
    }
}
