package dev.easel.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.JobLimitsConfig;
import dev.easel.config.S3Config;
import dev.easel.config.WorkerConfig;
import dev.easel.contract.ImageInputs;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobKeys;
import dev.easel.contract.JobLimits;
import dev.easel.contract.ObjectFetcher;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.messaging.DeadLetters;
import dev.easel.messaging.EventPublisher;
import dev.easel.messaging.JobRecords;
import dev.easel.notify.WebhookSender;
import dev.easel.observe.LogContext;
import dev.easel.security.Tenant;
import dev.easel.security.Tenants;
import dev.easel.store.ObjectStore;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.record.RecordBatch;
import org.jboss.logging.Logger;

/**
 * One job from its bytes to its answer, the same for every way in: {@link JobIntake} (bytes → one
 * parse → a job, or its rejection), {@link JobRunner} (job → stored result) and
 * {@link JobAnswers} (status, event, webhook, dead letter). The Kafka consumer
 * ({@link JobConsumer}) and the push endpoint are thin adapters over {@link #pulled} and
 * {@link #pushed}. Both block: call them on a worker thread.
 *
 * <p>Every job ends answered — completed, failed, cancelled or dead-lettered — except when the
 * worker shuts down under it ({@link JobAbandonedException}) or, for a pushed job, when its
 * answer cannot be published or its retries ran out on a transient fault
 * ({@link UnansweredJobException}): then nothing is committed and the job comes again.
 */
@ApplicationScoped
public class Jobs {

    private static final Logger LOG = Logger.getLogger(Jobs.class);
    /**
     * How long shutdown waits for webhook deliveries under way: part of the 20 s the pods' termination
     * grace leaves past the shutdown grace (deployment/README.md, "Shutdown").
     */
    static final Duration WEBHOOK_WAIT = Duration.ofSeconds(5);

    private final JobIntake intake;
    private final Tenants tenants;
    private final JobRunner runner;
    private final JobAnswers answers;
    private final Retries.Policy retries;
    private final JobWebhooks.Delivery webhooks;
    private final PendingDeliveries pendingWebhooks = new PendingDeliveries();
    private final WorkerMetrics metrics;
    private final Cancellation shutdown;
    private final Clock clock;
    private final StatusBacklog backlog = new StatusBacklog();
    private final SameJobLocks sameJob = new SameJobLocks();
    // Webhooks retry for up to easel.webhooks.max-total-duration: delivered beside the job, in order
    // per job, so a slow receiver neither holds the model nor delays the job's commit.
    private final ExecutorService webhookThreads = threads("easel-webhooks");
    // Store writes beside the job's thread: the running status while the job generates, and all of
    // a job's images but one at once.
    private final ExecutorService storeThreads = threads("easel-store");

    /** Everything a worker's jobs need from outside the worker. */
    record Wiring(JobIntake intake, Tenants tenants, JobLimits limits, ObjectStore store, ObjectFetcher fetcher, EventPublisher events,
                  DeadLetters deadLetters, WebhookSender webhooks, JobRunner.Settings settings, Retries.Policy retries,
                  Cancellations cancellations, Cancellation shutdown, WorkerMetrics metrics, Clock clock) {
    }

    @Inject
    Jobs(JobIntake intake, Tenants tenants, JobLimitsConfig limits, ObjectStore store, ObjectFetcher fetcher, EventPublisher events,
         DeadLetters deadLetters, WebhookSender webhooks, S3Config s3, WorkerConfig worker, BrokerHealth broker,
         Cancellations cancellations, WorkerLifecycle lifecycle, WorkerMetrics metrics) {
        this(new Wiring(intake, tenants, limits.toJobLimits(), store, fetcher, events, deadLetters, webhooks,
                new JobRunner.Settings(s3.bucket(), s3.presignTtl(), worker.runningStatusDelay(),
                        PreviewCaps.of(worker.previews())),
                new Retries.Policy(worker.retryBudget(), worker.retryInitialBackoff(), worker.retryMaxBackoff(),
                        worker.publishTimeout(), broker),
                cancellations, lifecycle.cancellation(), metrics, Clock.systemUTC()));
    }

    Jobs(Wiring wiring) {
        this.intake = wiring.intake();
        this.tenants = wiring.tenants();
        this.retries = wiring.retries();
        this.webhooks = new JobWebhooks.Delivery(wiring.webhooks(), webhookThreads, wiring.metrics(), pendingWebhooks);
        this.metrics = wiring.metrics();
        this.shutdown = wiring.shutdown();
        this.clock = wiring.clock();
        this.answers = new JobAnswers(wiring.events(), wiring.deadLetters(), wiring.store(), backlog, metrics, clock);
        this.runner = new JobRunner(wiring.settings(), wiring.store(), new ImageInputs(wiring.limits(), wiring.fetcher()),
                new OutputBuckets(wiring.store()), answers, wiring.cancellations(),
                new JobRunner.Infrastructure(storeThreads, metrics, clock, shutdown));
    }

    /**
     * After the drain: the webhooks of jobs answered near its end may still be under way, and their
     * records are committed, so they get {@link #WEBHOOK_WAIT} more (a receiver that is down keeps
     * its retries longer than that: those are logged as not delivered, their events are on the topic).
     */
    @PreDestroy
    void stop() {
        if (!pendingWebhooks.awaitNone(WEBHOOK_WAIT)) {
            LOG.warnf("shutting down with %d webhook deliveries unfinished after %s; their events are on the events"
                    + " topic", pendingWebhooks.count(), WEBHOOK_WAIT);
        }
        webhookThreads.shutdown();
        storeThreads.shutdown();
        backlog.close();
    }

    /**
     * A record of the jobs topic, answered: commit it when this returns. A fault in the worker
     * itself fails the job and dead-letters it too, so no record can stop the worker.
     *
     * @throws JobAbandonedException  when the worker shut down under it: do not commit it
     * @throws UnansweredJobException when its answer could not be published before shutdown: do not commit it
     */
    public void pulled(ConsumerRecord<byte[], byte[]> record) {
        long startNanos = System.nanoTime();
        // Only a key that is a job id can name the job's answer: any other (the broker takes keys
        // near its record limit) would make an event the broker refuses, retried forever. A longer
        // one is not even decoded.
        Optional<String> key = record.key() == null || record.key().length > JobKeys.MAX_ID_BYTES ? Optional.empty()
                : Optional.of(new String(record.key(), StandardCharsets.UTF_8)).filter(JobKeys::isJobId);
        long queueMs = record.timestamp() == RecordBatch.NO_TIMESTAMP ? 0
                : Math.max(0, clock.instant().toEpochMilli() - record.timestamp());
        counted(() -> {
            String fallbackId = key.orElse(record.topic() + "-" + record.partition() + "-" + record.offset());
            // The topic says whose job it is: Kafka ACLs decide who may write to a tenant's topic.
            Optional<Tenant> tenant = tenants.ofTopic(record.topic());
            JobRun run = new JobRun(tenant.orElseGet(() -> Tenant.nobody(record.topic())), fallbackId,
                    Optional.of(record), retries.start(fallbackId, shutdown, false), queueMs, startNanos,
                    noWebhook(fallbackId));
            try {
                return answerPulled(run, tenant.isPresent(), key);
            } catch (JobAbandonedException | UnansweredJobException e) {
                throw e;
            } catch (RuntimeException | OutOfMemoryError | StackOverflowError | AssertionError e) {
                poisoned(run, tenant.isPresent(), e);
                return null;
            }
        });
    }

    /** A pulled record from its bytes to its answer: dead-lettered when it is no job, else handled. */
    private JsonNode answerPulled(JobRun run, boolean tenantsTopic, Optional<String> key) {
        ConsumerRecord<byte[], byte[]> record = run.record.orElseThrow();
        if (!tenantsTopic) {
            LogContext.set(run.jobId, null);
            String reason = "topic " + record.topic() + " is no tenant's jobs topic";
            LOG.warnf("dead letter %s-%d@%d: %s", record.topic(), record.partition(), record.offset(), reason);
            answers.deadLetter(run, reason, null);
            metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
            return null;
        }
        JobRecords.Decoded decoded = JobRecords.decode(record.headers(), record.value());
        if (decoded instanceof JobRecords.Unreadable unreadable) {
            LogContext.set(run.jobId, null);
            LOG.warnf("dead letter %s-%d@%d: %s", record.topic(), record.partition(), record.offset(),
                    unreadable.reason());
            answers.deadLetter(run, unreadable.reason(), null);
            metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
            return null;
        }
        // The deadline is judged against when the job was submitted (the record's time), not when
        // it is read: a job whose deadline passed while it was queued was valid, and is answered
        // "deadline passed" by the runner, not refused as invalid and dead-lettered.
        Instant now = clock.instant();
        Instant submittedAt = record.timestamp() == RecordBatch.NO_TIMESTAMP ? now
                : min(now, Instant.ofEpochMilli(record.timestamp()));
        return handle(run, ((JobRecords.Readable) decoded).json(), key, submittedAt);
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    /**
     * A job that broke the worker outside its run (a bug in intake or answering): failed, not
     * retryable, and a pulled one dead-lettered, like a poison job. Escaping, a pulled record would
     * be nacked, which stops the jobs channel, and after the restart the same record would come
     * first again; a pushed one would be redelivered again and again.
     *
     * @return the job's answer as published: the failure, or the answer it had before the fault;
     *         empty when it could not be answered (a pulled record then gets its dead letter alone)
     */
    private Optional<JsonNode> poisoned(JobRun run, boolean tenantsTopic, Throwable e) {
        LOG.errorf(e, "job %s broke the worker outside its run", run.jobId);
        if (run.answer != null) {
            return Optional.of(run.answer); // its answer is out: a second one would contradict it
        }
        JobEvents.Failed failed = new JobEvents.Failed(internalError(e), null, e instanceof OutOfMemoryError, run.metadata);
        // A stray topic's record has no tenant to answer: its dead letter only, as when it is read.
        Optional<JsonNode> answer = tenantsTopic ? failedAndDeadLettered(run, failed) : Optional.empty();
        if (answer.isPresent()) {
            metrics.job(WorkerMetrics.Outcome.FAILED);
        } else if (run.record.isPresent()) {
            answers.deadLetter(run, failed.reason(), e);
            metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
        }
        return answer;
    }

    /** Answers a failure with its dead letter; empty when answering broke too, before the dead letter (its last step). */
    private Optional<JsonNode> failedAndDeadLettered(JobRun run, JobEvents.Failed failed) {
        try {
            return Optional.of(answers.answer(run, new Outcome.Failed(failed, true)));
        } catch (JobAbandonedException | UnansweredJobException unanswered) {
            throw unanswered;
        } catch (RuntimeException again) {
            LOG.errorf(again, "job %s: its failure could not be answered either", run.jobId);
            return Optional.empty();
        }
    }

    private static String internalError(Throwable e) {
        return "internal error: " + e.getClass().getSimpleName() + ": "
                + dev.easel.security.EndpointRedaction.redact(e.getMessage());
    }

    /**
     * Push mode: a job delivered over HTTP, already decoded from its CloudEvent, answered as a
     * pulled one except that an invalid (or poison) job gets no dead letter (the sender keeps the
     * event) and a retryable failure no answer: the sender is asked to deliver it again.
     *
     * @param sentAt when the job was submitted (the CloudEvent's {@code time}), for the queue timing
     * @param tenant whose job it is
     * @param event  the CloudEvent's source and id, which its sender's redeliveries repeat; empty
     *               when it has none (then an earlier answer is never taken for this delivery's)
     * @return the final event's data, as published
     * @throws UnansweredJobException when it must be delivered again
     * @throws JobAbandonedException  when the worker shut down under it
     */
    public JsonNode pushed(byte[] json, Optional<Instant> sentAt, Tenant tenant, Optional<String> event) {
        long startNanos = System.nanoTime();
        long queueMs = sentAt.map(t -> Math.max(0, clock.instant().toEpochMilli() - t.toEpochMilli())).orElse(0L);
        return counted(() -> {
            String provisional = "pushed-" + startNanos;
            JobRun run = new JobRun(tenant, provisional, Optional.empty(), retries.start(provisional, shutdown, true),
                    queueMs, startNanos, noWebhook(provisional));
            run.pushedAs = event;
            run.pushedAt = sentAt;
            try {
                Instant now = clock.instant();
                return handle(run, json, Optional.empty(), sentAt.map(t -> min(now, t)).orElse(now));
            } catch (JobAbandonedException | UnansweredJobException e) {
                throw e;
            } catch (RuntimeException | OutOfMemoryError | StackOverflowError | AssertionError e) {
                return poisoned(run, true, e).orElseThrow(() -> new UnansweredJobException(
                        "internal error, and its failure could not be answered: " + e.getMessage(), e));
            }
        });
    }

    /**
     * A pushed request that is no job this worker can read (no CloudEvent, no JSON object, no
     * tenant), answered 400 by the push adapter, which the KafkaSource does not retry and
     * dead-letters: counted as a pulled record that is no job is ({@code dead_lettered}).
     */
    public void pushRefused() {
        metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
    }

    /** A pushed job without a CloudEvent identity (tests, and senders that give none). */
    public JsonNode pushed(byte[] json, Optional<Instant> sentAt, Tenant tenant) {
        return pushed(json, sentAt, tenant, Optional.empty());
    }

    /** Intake, run, answer; {@code submittedAt}: when the job was submitted, for its deadline. */
    private JsonNode handle(JobRun run, byte[] json, Optional<String> key, Instant submittedAt) {
        Intake taken = intake.take(json, new Intake.Source(key, run.deliveryWithTime()), run.tenant, submittedAt);
        run.jobId = taken.jobId();
        if (taken instanceof Intake.Rejected rejected) {
            LogContext.set(rejected.jobId(), null);
            LOG.infof("job %s rejected: %s", rejected.jobId(), rejected.rejection().summary());
            run.metadata = rejected.metadata().orElse(null);
            run.webhooks = new JobWebhooks(run.jobId, rejected.webhook(), webhooks);
            JobEvents.Failed failed = new JobEvents.Failed("invalid job: " + rejected.rejection().summary(),
                    rejected.rejection().violations(), false, run.metadata);
            JsonNode answer = answers.answer(run, new Outcome.Failed(failed, true));
            metrics.job(WorkerMetrics.Outcome.REJECTED);
            return answer;
        }
        if (taken instanceof Intake.Unavailable unavailable) {
            LogContext.set(unavailable.jobId(), unavailable.job().model());
            LOG.errorf("job %s cannot run here: model %s failed to load (%s)", run.jobId, unavailable.model(),
                    unavailable.error());
            run.webhooks = new JobWebhooks(run.jobId, unavailable.job().webhook(), webhooks);
        }
        // Its run and its answer: a second delivery of the job waits here, then finds the first's answer.
        try (SameJobLocks.Held held = sameJob.hold(run.tenant.id(), run.jobId)) {
            // The wait may have outlasted the retry budget, or the worker's cut-off: neither starts it.
            shutdown.check();
            run.retries.startAgain();
            return runAndAnswer(run, taken);
        }
    }

    private JsonNode runAndAnswer(JobRun run, Intake taken) {
        Outcome outcome;
        try {
            if (taken instanceof Intake.Unavailable unavailable) {
                outcome = runner.unavailable(run, unavailable);
            } else {
                Intake.Accepted accepted = (Intake.Accepted) taken;
                // Every line logged for the job from here on (and on the threads it hands work to) names it.
                LogContext.set(accepted.job().id(), accepted.job().model());
                run.webhooks = new JobWebhooks(run.jobId, accepted.job().webhook(), webhooks);
                outcome = runner.run(run, accepted, shutdown);
            }
        } catch (JobAbandonedException | UnansweredJobException e) {
            throw e;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError | AssertionError e) {
            // A bug, or a job that breaks the engine (its tensors too big for the heap, a recursion too
            // deep): poison. Answered and dead-lettered, and the worker goes on; other Errors (a native
            // library that does not link) are the worker's, not the job's, and stop the jobs channel.
            LOG.errorf(e, "job %s failed", run.jobId);
            // Out of memory may be another job's doing (several run at once): worth trying again.
            outcome = new Outcome.Failed(new JobEvents.Failed(internalError(e), null, e instanceof OutOfMemoryError,
                    run.metadata), true);
        }
        answers.settle(run);
        if (run.record.isEmpty() && outcome instanceof Outcome.Failed failed && failed.failed().retryable()) {
            throw new UnansweredJobException(failed.failed().reason(), null);
        }
        JsonNode answer = answers.answer(run, outcome);
        if (run.answeredBefore) {
            metrics.job(WorkerMetrics.Outcome.DUPLICATE); // its fate was counted when it was decided
        } else if (outcome instanceof Outcome.Completed completed) {
            metrics.job(completed.again() ? WorkerMetrics.Outcome.DUPLICATE : WorkerMetrics.Outcome.COMPLETED);
        } else if (outcome instanceof Outcome.Failed failed) {
            metrics.job(failed.failed().violations() != null ? WorkerMetrics.Outcome.REJECTED : WorkerMetrics.Outcome.FAILED);
        } else {
            metrics.job(WorkerMetrics.Outcome.CANCELLED);
        }
        return answer;
    }

    /** Runs one job counted in flight, counts the outcomes that escape as exceptions, and clears its log context. */
    private <T> T counted(java.util.function.Supplier<T> job) {
        try (WorkerMetrics.Running running = metrics.started()) {
            return job.get();
        } catch (UnansweredJobException e) {
            metrics.job(WorkerMetrics.Outcome.UNANSWERED);
            throw e;
        } catch (JobAbandonedException e) {
            metrics.job(WorkerMetrics.Outcome.ABANDONED);
            throw e;
        } finally {
            LogContext.clear();
        }
    }

    private JobWebhooks noWebhook(String jobId) {
        return new JobWebhooks(jobId, Optional.empty(), webhooks);
    }

    private static ExecutorService threads(String name) {
        return LogContext.propagating(Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, name);
            thread.setDaemon(true);
            return thread;
        }));
    }
}
