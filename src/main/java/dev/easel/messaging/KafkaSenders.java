package dev.easel.messaging;

import dev.easel.config.EventsConfig;
import dev.easel.config.WorkerConfig;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;

/**
 * The application's two producers, over the {@code kafka.*} settings: one for a job's answers
 * (events and dead letters), one for jobs and cancellations submitted over HTTP. Two, because a
 * submission's bound is what the HTTP answer promises, and an answer's retries must not queue
 * behind submissions.
 */
@Singleton
public class KafkaSenders {

    private final KafkaRecordSender answers;
    private final TransactionalSender submissions;

    @Inject
    KafkaSenders(@Identifier("default-kafka-broker") Map<String, Object> kafka, EventsConfig events, WorkerConfig worker) {
        this.answers = new KafkaRecordSender(KafkaRecordSender.reliable(kafka, "easel-answers-" + events.instance(),
                worker.publishTimeout()));
        this.submissions = new TransactionalSender(kafka, "easel-submissions-" + events.instance(),
                worker.publishTimeout());
    }

    /** Events and dead letters. */
    public RecordSender answers() {
        return answers;
    }

    /**
     * Fetches the answers producer's metadata for these topics now (and with it its producer id),
     * so that a first answer does not wait for them; at most the producer's {@code max.block.ms}.
     */
    public void prefetchAnswers(List<String> topics) {
        topics.forEach(answers::prefetch);
    }

    /** Jobs and cancellations from the HTTP API, each committed in its own transaction. */
    public RecordSender submissions() {
        return submissions;
    }

    @PreDestroy
    void close() {
        answers.close();
        submissions.close();
    }
}
