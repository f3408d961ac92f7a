package dev.easel.worker;

import dev.easel.contract.Manifest;
import dev.easel.contract.JobStatus;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.JobLimitsConfig;
import dev.easel.config.S3Config;
import dev.easel.config.WorkerConfig;
import dev.easel.engine.image.PngEncoder;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GeneratedImage;
import dev.easel.engine.pipeline.GenerationCancelledException;
import dev.easel.engine.pipeline.GenerationMetadata;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.ImageInput;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StageTimings;
import dev.easel.contract.GenerationPlan;
import dev.easel.contract.ImageInputs;
import dev.easel.contract.Job;
import dev.easel.contract.JobIds;
import dev.easel.contract.JobLimits;
import dev.easel.contract.JobOutput;
import dev.easel.contract.JobParser;
import dev.easel.contract.JobRejection;
import dev.easel.contract.JobWebhook;
import dev.easel.contract.ObjectFetcher;
import dev.easel.contract.Validated;
import dev.easel.contract.Violation;
import dev.easel.messaging.DeadLetters;
import dev.easel.messaging.EventPublisher;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.Completed;
import dev.easel.contract.JobEvents.Failed;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import dev.easel.messaging.JobRecords;
import dev.easel.notify.WebhookEvent;
import dev.easel.notify.WebhookEventType;
import dev.easel.notify.WebhookOutcome;
import dev.easel.notify.WebhookSender;
import dev.easel.observe.LogContext;
import dev.easel.contract.JobKeys;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.record.RecordBatch;
import org.jboss.logging.Logger;

/**
 * Runs one job record from end to end: decode, validate, generate, store, answer. {@link #process}
 * returns once the job's answer — its {@code completed} or {@code failed} event, or its dead
 * letter — has been acknowledged by the broker, so the caller may commit the record's offset
 * then (at-least-once). A job's own faults and the engine's or storage's failures become
 * {@code failed} events; only a publish that the broker will not take escapes, as
 * {@link UnansweredJobException}. Blocks: call it on a worker thread.
 */
@ApplicationScoped
public class JobProcessor {

    private static final Logger LOG = Logger.getLogger(JobProcessor.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Manifests are a few hundred bytes per image; anything this big is not one of ours. */
    private static final int MAX_MANIFEST_BYTES = 1 << 20;
    private static final String PNG = "image/png";
    private static final Duration PROGRESS_WEBHOOK_INTERVAL = Duration.ofSeconds(1);

    private final ModelRegistry models;
    private final JobParser parser;
    private final ImageInputs images;
    private final ObjectStore store;
    private final EventPublisher events;
    private final DeadLetters deadLetters;
    private final WebhookSender webhooks;
    private final String defaultBucket;
    private final Duration presignTtl;
    private final Duration publishTimeout;
    private final Duration runningStatusDelay;
    private final Clock clock;
    private final WorkerMetrics metrics;
    private final Cancellation shutdown;
    private final PngEncoder png = new PngEncoder();
    private final ConcurrentMap<String, JobParser> parsers = new ConcurrentHashMap<>();
    // Webhooks retry for up to easel.webhooks.max-total-duration: delivered beside the job, in order
    // per job, so a slow receiver neither holds the GPU nor delays the job's commit.
    private final ExecutorService webhookThreads = LogContext.propagating(Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "easel-webhooks");
        thread.setDaemon(true);
        return thread;
    }));
    // Store writes beside the job's thread: the running status while the job generates, and all of
    // a job's images but one at once. Each job waits for its own before it answers, so at most
    // concurrency × (images + 1) threads are busy.
    private final ExecutorService storeThreads = LogContext.propagating(Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "easel-store");
        thread.setDaemon(true);
        return thread;
    }));

    @Inject
    JobProcessor(ModelRegistry models, JobLimitsConfig limits, ObjectStore store, ObjectFetcher fetcher,
                 EventPublisher events, DeadLetters deadLetters, WebhookSender webhooks, S3Config s3,
                 WorkerConfig worker, WorkerLifecycle lifecycle, WorkerMetrics metrics) {
        this(models, limits.toJobLimits(), store, fetcher, events, deadLetters, webhooks,
                new Settings(s3.bucket(), s3.presignTtl(), worker.publishTimeout(), worker.runningStatusDelay()),
                Clock.systemUTC(), lifecycle.cancellation(), metrics);
    }

    /**
     * The processor's plain settings.
     *
     * @param defaultBucket      where a job without {@code output.bucket} is stored
     * @param presignTtl         how long the completed event's image URLs are valid
     * @param publishTimeout     how long to wait for the broker's ack of an event
     * @param runningStatusDelay how long a job runs before its {@code running} status is written
     */
    record Settings(String defaultBucket, Duration presignTtl, Duration publishTimeout, Duration runningStatusDelay) {
    }

    /** @param shutdown checked between steps; throws {@link JobAbandonedException} when the worker cuts jobs off */
    JobProcessor(ModelRegistry models, JobLimits limits, ObjectStore store, ObjectFetcher fetcher,
                 EventPublisher events, DeadLetters deadLetters, WebhookSender webhooks, Settings settings,
                 Clock clock, Cancellation shutdown, WorkerMetrics metrics) {
        this.models = models;
        this.parser = new JobParser(limits).withClock(clock);
        this.images = new ImageInputs(limits, fetcher);
        this.store = store;
        this.events = events;
        this.deadLetters = deadLetters;
        this.webhooks = webhooks;
        this.defaultBucket = settings.defaultBucket();
        this.presignTtl = settings.presignTtl();
        this.publishTimeout = settings.publishTimeout();
        this.runningStatusDelay = settings.runningStatusDelay();
        this.clock = clock;
        this.metrics = metrics;
        this.shutdown = shutdown;
    }

    @PreDestroy
    void stop() {
        webhookThreads.shutdown();
        storeThreads.shutdown();
    }

    /**
     * Processes one record of the jobs topic and publishes its answer.
     *
     * @throws UnansweredJobException if the answer could not be published: do not commit the record
     * @throws JobAbandonedException  if the worker cut the job off at shutdown: nothing was published; do not commit
     */
    public void process(ConsumerRecord<byte[], byte[]> record) {
        counted(() -> {
            processRecord(record);
            return null;
        });
    }

    /** Runs one job counted in flight, counts the outcomes that escape as exceptions, and clears its log context. */
    private <T> T counted(Supplier<T> job) {
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

    private void processRecord(ConsumerRecord<byte[], byte[]> record) {
        long startNanos = System.nanoTime();
        Instant start = clock.instant();
        String key = record.key() != null && record.key().length > 0 ? new String(record.key(), StandardCharsets.UTF_8) : null;
        JobRecords.Decoded decoded = JobRecords.decode(record.headers(), record.value());
        if (decoded instanceof JobRecords.Unreadable unreadable) {
            LogContext.set(key, null);
            LOG.warnf("dead letter %s-%d@%d: %s", record.topic(), record.partition(), record.offset(), unreadable.reason());
            metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
            await(deadLetters.send(record, unreadable.reason(), null), "dead letter");
            return;
        }
        long queueMs = record.timestamp() == RecordBatch.NO_TIMESTAMP ? 0
                : Math.max(0, start.toEpochMilli() - record.timestamp());
        handle(((JobRecords.Readable) decoded).json(), queueMs, startNanos, key, failed -> {
            metrics.job(WorkerMetrics.Outcome.DEAD_LETTERED);
            await(deadLetters.send(record, failed.reason(), null), "dead letter");
        });
    }

    /**
     * Push mode (a Knative KafkaSource delivering over HTTP): runs one job, already decoded from its
     * CloudEvent, and publishes its answer as {@link #process} does. An invalid job gets its failed
     * event but no dead letter: there is no record to copy, and the sender keeps the event.
     *
     * @param json   the job, a JSON object
     * @param sentAt when the job was submitted (the CloudEvent's {@code time}), for the queue timing
     * @return the final event's payload: {@link Completed} or {@link Failed}
     * @throws UnansweredJobException if the answer could not be published: ask for redelivery
     * @throws JobAbandonedException  if the worker cut the job off at shutdown: ask for redelivery
     */
    public JobEvents.Data processPushed(byte[] json, Optional<Instant> sentAt) {
        return counted(() -> {
            long startNanos = System.nanoTime();
            long queueMs = sentAt.map(t -> Math.max(0, clock.instant().toEpochMilli() - t.toEpochMilli())).orElse(0L);
            return handle(json, queueMs, startNanos, null, failed -> metrics.job(WorkerMetrics.Outcome.FAILED));
        });
    }

    /**
     * Checks a job with the rules the worker applies to it, prompt tokens included when this
     * process serves the job's model; for the HTTP API, before the job is queued.
     */
    public Validated<Job> validate(byte[] json) {
        JsonNode tree;
        try {
            tree = JSON.readTree(json);
        } catch (IOException e) {
            tree = null; // the parser reports it as a violation of "$"
        }
        Optional<DiffusionPipeline> pipeline = tree == null ? Optional.empty()
                : textField(tree, "model").flatMap(models::pipeline);
        return parser(pipeline).parse(json);
    }

    /** The job as contract JSON, defaults included: what the HTTP API queues. */
    public byte[] toJson(Job job) {
        return parser.toJson(job);
    }

    /** Validates, runs and answers one job; {@code onInvalid} runs after an invalid job's failed event. */
    private JobEvents.Data handle(byte[] json, long queueMs, long startNanos, String fallbackId,
                                  Consumer<Failed> onInvalid) {
        JsonNode tree = readTree(json);
        // Every line logged for the job from here on (and on the threads it hands work to) names it.
        LogContext.set(textField(tree, "id").orElse(fallbackId), textField(tree, "model").orElse(null));

        // The parser counts prompt tokens with the model's tokenizer, so the model is looked up
        // first; the wait is the model-load time when a job arrives while bundles are loading.
        long loadStart = System.nanoTime();
        Optional<DiffusionPipeline> pipeline = textField(tree, "model").flatMap(models::pipeline);
        long loadMs = millis(System.nanoTime() - loadStart);

        Validated<Job> validated = parser(pipeline).parse(json);
        if (validated instanceof Validated.Invalid<Job> invalid) {
            Failed failed = reject(tree, invalid.rejection(), fallbackId);
            onInvalid.accept(failed);
            return failed;
        }
        Job job = ((Validated.Valid<Job>) validated).value();
        Hooks hooks = new Hooks(job.id(), job.webhook());
        JsonNode metadata = job.metadata().orElse(null);
        Optional<Location> location = location(job);
        JobEvents.Data outcome;
        if (pipeline.isEmpty()) {
            String known = String.join(", ", models.available());
            String reason = "unknown model \"" + job.model() + "\"; this worker serves: " + (known.isEmpty() ? "none" : known);
            LOG.warnf("job %s: %s", job.id(), reason);
            outcome = new Failed(reason, List.of(new Violation("model", "is not a model this worker serves, got \""
                    + job.model() + "\"", known.isEmpty() ? "no models loaded" : "one of " + known)), false, metadata);
        } else {
            outcome = run(job, location, pipeline.get(), hooks, queueMs, loadMs, startNanos);
        }
        if (outcome instanceof Failed failed && location.isPresent()) {
            writeFailedStatus(job.id(), location.get(), failed);
        }
        answer(job.id(), hooks, outcome);
        return outcome;
    }

    /** Where a job's objects go; empty when its output cannot be a location (run() then fails the job). */
    private Optional<Location> location(Job job) {
        try {
            return Optional.of(new Location(job.output().map(JobOutput::bucket).orElse(defaultBucket),
                    JobKeys.of(job.output().map(JobOutput::keyPrefix).orElse(""), job.id())));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private record Location(String bucket, JobKeys keys) {
    }

    /** Best effort: the failure may be the store's own, and the failed event is the answer that counts. */
    private void writeFailedStatus(String jobId, Location location, Failed failed) {
        try {
            writeStatus(jobId, location, new JobStatus(JobStatus.FAILED, failed.reason(), failed.violations(),
                    failed.retryable(), clock.instant().toString()));
        } catch (IOException | RuntimeException e) {
            LOG.warnf("job %s: failed status not stored in %s/%s: %s", jobId, location.bucket(), location.keys().status(),
                    e.getMessage());
        }
    }

    /**
     * The {@code running} status, written beside the job once it has run for
     * {@code easel.worker.running-status-delay}; best effort: it only tells a reader the job has begun.
     */
    private DeferredWrite writeRunningStatus(String jobId, Location location) {
        return DeferredWrite.after(runningStatusDelay, () -> {
            try {
                writeStatus(jobId, location, new JobStatus(JobStatus.RUNNING, null, null, null, clock.instant().toString()));
            } catch (IOException | RuntimeException e) {
                LOG.warnf("job %s: running status not stored in %s/%s: %s", jobId, location.bucket(),
                        location.keys().status(), e.getMessage());
            }
        }, storeThreads);
    }

    private void putUnchecked(String bucket, String key, byte[] bytes, Map<String, String> metadata) {
        try {
            store.put(bucket, key, bytes, PNG, metadata);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for every upload, so none is still running when the manifest is written; rethrows the first failure. */
    private static void awaitAll(List<CompletableFuture<Void>> uploads) throws IOException {
        IOException failure = null;
        for (CompletableFuture<Void> upload : uploads) {
            try {
                upload.join();
            } catch (CompletionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof UncheckedIOException io ? io.getCause()
                            : new IOException("image upload failed: " + e.getCause(), e.getCause());
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void writeStatus(String jobId, Location location, JobStatus status) throws IOException {
        store.put(location.bucket(), location.keys().status(), JSON.writeValueAsBytes(status), "application/json",
                Map.of("job-id", jobId));
    }

    /**
     * The job's outcome, as the payload of its final event; failures of the job become {@link Failed}.
     * Returns only once the started event is acknowledged and the running status written (or given
     * up), so neither can land after the job's final event or its failed status.
     */
    private JobEvents.Data run(Job job, Optional<Location> location, DiffusionPipeline pipeline, Hooks hooks,
                               long queueMs, long loadMs, long startNanos) {
        InFlight inFlight = new InFlight();
        JobEvents.Data outcome = attempt(job, location, pipeline, hooks, queueMs, loadMs, startNanos, inFlight);
        inFlight.settle();
        return outcome;
    }

    /** What a job started without waiting for; {@link #settle()} waits for it. */
    private final class InFlight {

        private CompletionStage<Void> started = CompletableFuture.completedFuture(null);
        private DeferredWrite runningStatus = DeferredWrite.none();

        /**
         * @throws UnansweredJobException if the broker refused the started event: the record is not
         *                                committed, as for any refused event (a redelivery finds the
         *                                manifest, if one was stored, and publishes the completion)
         */
        void settle() {
            runningStatus.skipOrAwait(); // never fails: the write logs its own failure
            await(started, "started event");
        }
    }

    private JobEvents.Data attempt(Job job, Optional<Location> location, DiffusionPipeline pipeline, Hooks hooks,
                                   long queueMs, long loadMs, long startNanos, InFlight inFlight) {
        JsonNode metadata = job.metadata().orElse(null);
        try {
            // Rebuilt rather than taken from location so a bad output fails the job naming its rule.
            String bucket = location.map(Location::bucket).orElse(defaultBucket);
            JobKeys keys = location.map(Location::keys)
                    .orElseGet(() -> JobKeys.of(job.output().map(JobOutput::keyPrefix).orElse(""), job.id()));
            // HEAD first: almost every job is new, and a bodiless 404 is cheaper for both ends than a
            // GET's XML error; only a redelivered, completed job pays the second request.
            Optional<StoredObject> stored = store.exists(bucket, keys.manifest())
                    ? store.get(bucket, keys.manifest(), MAX_MANIFEST_BYTES) : Optional.empty();
            if (stored.isPresent()) {
                LOG.infof("job %s is already complete (%s/%s): publishing its completion again", job.id(), bucket,
                        keys.manifest());
                metrics.job(WorkerMetrics.Outcome.DUPLICATE);
                return completion(JSON.readValue(stored.get().bytes(), Manifest.class));
            }

            Started started = new Started(job.model(), queueMs, metadata);
            hooks.send(JobWebhook.Event.STARTED, WebhookEventType.JOB_STARTED, started);
            // Neither waited for here: generation needs no broker ack nor the status record. The
            // producer keeps the job's events in order (one key, one partition), and run() awaits
            // both before the final event is published, so the completion still follows the ack.
            inFlight.started = events.started(job.id(), started);
            inFlight.runningStatus = writeRunningStatus(job.id(), new Location(bucket, keys));

            Validated<Optional<ImageInput>> input = images.resolve(job);
            if (input instanceof Validated.Invalid<Optional<ImageInput>> invalid) {
                JobRejection rejection = invalid.rejection();
                return new Failed("invalid job: " + rejection.summary(), rejection.violations(), false, metadata);
            }
            Optional<ImageInput> initImage = ((Validated.Valid<Optional<ImageInput>>) input).value();
            GenerationPlan plan = job.toGenerationRequest(initImage, ThreadLocalRandom.current());
            GenerationRequest request = plan.request();
            GenerationResult result = pipeline.generate(request, progress(job, hooks), cancellation(job));

            long encodeStart = System.nanoTime();
            String scheduler = pipeline.schedulerName(request);
            List<byte[]> pngs = new ArrayList<>();
            for (GeneratedImage image : result.images()) {
                pngs.add(png.encode(image.image(), GenerationMetadata.pngText(request, job.model(), scheduler, image)));
            }
            long uploadStart = System.nanoTime();
            List<Manifest.StoredImage> storedImages = new ArrayList<>();
            List<CompletableFuture<Void>> uploads = new ArrayList<>();
            for (int i = 0; i < pngs.size(); i++) {
                long seed = result.images().get(i).seed();
                String key = keys.image(i);
                byte[] bytes = pngs.get(i);
                Map<String, String> objectMetadata = Map.of("job-id", job.id(), "seed", Long.toString(seed));
                // All images at once; the last on this thread, which has nothing else to do meanwhile.
                if (i < pngs.size() - 1) {
                    uploads.add(CompletableFuture.runAsync(() -> putUnchecked(bucket, key, bytes, objectMetadata),
                            storeThreads));
                } else {
                    store.put(bucket, key, bytes, PNG, objectMetadata);
                }
                storedImages.add(new Manifest.StoredImage(key, seed, result.images().get(i).clipScore().isPresent()
                        ? result.images().get(i).clipScore().getAsDouble() : null));
            }
            awaitAll(uploads);
            long uploadNanos = System.nanoTime() - uploadStart;
            Map<String, Long> timings = timings(result.timings(), queueMs, loadMs, uploadStart - encodeStart,
                    uploadNanos, System.nanoTime() - startNanos);
            Manifest manifest = new Manifest(job.id(), job.model(), bucket, storedImages, plan.seed(), plan.seedChosen(),
                    scheduler, timings, metadata, clock.instant().toString());
            // Last, after the running status too (if the job ran long enough to write one): its
            // presence is what says the job is complete, and nothing of the job's may land after it.
            inFlight.runningStatus.skipOrAwait();
            store.put(bucket, keys.manifest(), JSON.writeValueAsBytes(manifest), "application/json", Map.of("job-id", job.id()));
            LOG.infof("job %s completed: %d image(s) in %s/%s, %d ms", job.id(), storedImages.size(), bucket, keys,
                    timings.get("total"));
            metrics.stages(job.model(), timings);
            metrics.job(WorkerMetrics.Outcome.COMPLETED);
            return completion(manifest);
        } catch (InvalidRequestException e) {
            String problem = e.getMessage().startsWith(e.field() + ": ") ? e.getMessage().substring(e.field().length() + 2)
                    : e.getMessage();
            return new Failed("invalid job: " + e.getMessage(), List.of(new Violation(e.field(), problem,
                    "what model " + job.model() + " can run")), false, metadata);
        } catch (GenerationCancelledException e) {
            return new Failed("deadline passed: generation stopped at " + job.deadline().map(Instant::toString).orElse("?")
                    + " (" + e.getMessage() + ")", null, false, metadata);
        } catch (IOException e) {
            LOG.warnf(e, "job %s: storage failed", job.id());
            return new Failed("storage failed: " + e.getMessage(), null, true, metadata);
        } catch (UnansweredJobException | JobAbandonedException e) {
            throw e; // no answer: the record is not committed
        } catch (RuntimeException e) {
            LOG.errorf(e, "job %s failed", job.id());
            return new Failed("internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage(), null, false,
                    metadata);
        }
    }

    /**
     * An invalid job: a failed event listing the violations and its webhook if it has a usable one.
     * No status record: its output location is not to be trusted.
     */
    private Failed reject(JsonNode tree, JobRejection rejection, String fallbackId) {
        String jobId = rejection.id().orElseGet(() -> fallbackId != null ? fallbackId : JobIds.generate());
        Failed failed = Failed.rejected(rejection);
        LOG.infof("job %s rejected: %s", jobId, rejection.summary());
        new Hooks(jobId, usableWebhook(tree, rejection)).send(JobWebhook.Event.FAILED, WebhookEventType.JOB_FAILED, failed);
        await(events.failed(jobId, failed), "failed event");
        return failed;
    }

    /** Publishes the final event (and webhook); returns when the broker has it. */
    private void answer(String jobId, Hooks hooks, JobEvents.Data outcome) {
        if (outcome instanceof Completed completed) {
            hooks.send(JobWebhook.Event.COMPLETED, WebhookEventType.JOB_COMPLETED, completed);
            await(events.completed(jobId, completed), "completed event");
        } else {
            Failed failed = (Failed) outcome;
            LOG.infof("job %s failed (retryable: %s): %s", jobId, failed.retryable(), failed.reason());
            metrics.job(WorkerMetrics.Outcome.FAILED);
            hooks.send(JobWebhook.Event.FAILED, WebhookEventType.JOB_FAILED, failed);
            await(events.failed(jobId, failed), "failed event");
        }
    }

    private Completed completion(Manifest manifest) {
        List<JobEvents.Image> images = manifest.images().stream()
                .map(i -> new JobEvents.Image(i.objectKey(), store.presignGet(manifest.bucket(), i.objectKey(), presignTtl)
                        .toString(), i.seed(), i.clipScore()))
                .toList();
        return new Completed(manifest.bucket(), images, manifest.model(), manifest.timingsMs(), manifest.metadata());
    }

    private ProgressListener progress(Job job, Hooks hooks) {
        Instant[] lastHook = {Instant.EPOCH};
        return (step, total) -> {
            Progress progress = new Progress(step, total, null);
            // Throttled by the publisher; not awaited, progress is cosmetic and must not slow denoising.
            events.progress(job.id(), progress).exceptionally(e -> {
                LOG.debugf("job %s: progress event not published: %s", job.id(), e.getMessage());
                return null;
            });
            Instant now = clock.instant();
            if (step >= total || !now.isBefore(lastHook[0].plus(PROGRESS_WEBHOOK_INTERVAL))) {
                lastHook[0] = now;
                hooks.send(JobWebhook.Event.PROGRESS, WebhookEventType.JOB_PROGRESS, progress);
            }
        };
    }

    /**
     * Shutdown first: a job cut off by its worker gets no answer and runs again elsewhere, while one
     * past its deadline fails for good.
     */
    private Cancellation cancellation(Job job) {
        Cancellation deadline = deadline(job);
        return () -> {
            shutdown.check();
            deadline.check();
        };
    }

    private Cancellation deadline(Job job) {
        if (job.deadline().isEmpty()) {
            return Cancellation.NONE;
        }
        Instant deadline = job.deadline().get();
        return () -> {
            if (!clock.instant().isBefore(deadline)) {
                throw new GenerationCancelledException("deadline " + deadline + " passed");
            }
        };
    }

    private static Map<String, Long> timings(StageTimings stages, long queueMs, long loadMs, long encodeNanos,
                                             long uploadNanos, long totalNanos) {
        Map<String, Long> timings = new LinkedHashMap<>();
        timings.put("queue", queueMs);
        timings.put("load", loadMs);
        timings.put("textEncode", millis(stages.tokenize() + stages.textEncode()));
        timings.put("denoise", millis(stages.vaeEncode() + stages.unet() + stages.scheduler()));
        timings.put("decode", millis(stages.vaeDecode()));
        if (stages.clip() > 0) {
            timings.put("clip", millis(stages.clip()));
        }
        timings.put("encode", millis(encodeNanos));
        timings.put("upload", millis(uploadNanos));
        timings.put("total", millis(totalNanos));
        return timings;
    }

    private JobParser parser(Optional<DiffusionPipeline> pipeline) {
        return pipeline.map(p -> parsers.computeIfAbsent(p.model().name(),
                name -> parser.withTokenCounter(p.model().config().tokenizer()::countTokens)
                        .withClip(p.model().hasClip()))).orElse(parser);
    }

    /**
     * The webhook of a job that failed validation, when its URL is one the job could have used:
     * the webhook fields themselves broke no rule, and the job asked for (or defaulted to) failures.
     */
    private static Optional<JobWebhook> usableWebhook(JsonNode tree, JobRejection rejection) {
        if (rejection.violations().stream().anyMatch(v -> v.field().equals("$") || v.field().startsWith("webhook"))) {
            return Optional.empty();
        }
        JsonNode webhook = tree.path("webhook");
        Optional<String> url = textField(webhook, "url");
        JsonNode events = webhook.path("events");
        boolean wantsFailed = events.isMissingNode() || containsText(events, JobWebhook.Event.FAILED.wireName());
        if (url.isEmpty() || !wantsFailed) {
            return Optional.empty();
        }
        return Optional.of(new JobWebhook(URI.create(url.get()), List.of(JobWebhook.Event.FAILED)));
    }

    private static boolean containsText(JsonNode array, String text) {
        for (JsonNode element : array) {
            if (element.isTextual() && element.asText().equals(text)) {
                return true;
            }
        }
        return false;
    }

    private static Optional<String> textField(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isTextual() ? Optional.of(value.asText()) : Optional.empty();
    }

    private static JsonNode readTree(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("JobRecords passed bytes that are not a JSON object", e);
        }
    }

    private void await(CompletionStage<Void> publish, String what) {
        try {
            publish.toCompletableFuture().get(publishTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnansweredJobException(what + ": interrupted while waiting for the broker", e);
        } catch (ExecutionException e) {
            throw new UnansweredJobException(what + ": the broker refused it: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new UnansweredJobException(what + ": no broker acknowledgement within " + publishTimeout, e);
        }
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** One job's webhook deliveries, in order, off the job's thread. */
    private final class Hooks {

        private final String jobId;
        private final Optional<JobWebhook> webhook;
        private CompletableFuture<Void> last = CompletableFuture.completedFuture(null);

        Hooks(String jobId, Optional<JobWebhook> webhook) {
            this.jobId = jobId;
            this.webhook = webhook;
        }

        void send(JobWebhook.Event event, WebhookEventType type, JobEvents.Data data) {
            if (webhook.isEmpty() || !webhook.get().events().contains(event)) {
                return;
            }
            URI target = webhook.get().url();
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = JSON.convertValue(data.toJson(), Map.class);
            WebhookEvent message = WebhookEvent.of(type, jobId, fields);
            last = last.thenRunAsync(() -> {
                WebhookOutcome outcome = webhooks.deliver(target, message);
                metrics.webhook(outcome);
                if (!outcome.delivered()) {
                    LOG.warnf("job %s: webhook %s to %s not delivered: %s after %d attempt(s)%s", jobId,
                            type.wireName(), target, outcome.result(), outcome.attempts(),
                            outcome.lastError().map(e -> " (" + e + ")").orElse(""));
                }
            }, webhookThreads).exceptionally(e -> {
                LOG.errorf(e, "job %s: webhook %s to %s failed", jobId, type.wireName(), target);
                return null;
            });
        }
    }
}
