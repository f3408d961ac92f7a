package dev.easel.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.GenerationPlan;
import dev.easel.contract.ImageInputs;
import dev.easel.contract.Job;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.JobEvent;
import dev.easel.contract.JobRejection;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import dev.easel.contract.Validated;
import dev.easel.contract.Violation;
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
import dev.easel.engine.pipeline.Preview;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StageTimings;
import dev.easel.security.EndpointRedaction;
import dev.easel.store.ObjectStore;
import dev.easel.store.PermanentStorageException;
import dev.easel.store.StoredObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The middle room of a job: an accepted job to its stored result. In order: has it run already
 * (its manifest)? Can it run (its output bucket, its input images)? Then started, generate, encode,
 * store the images, store the manifest (last: its presence means complete). Nothing is spent on a
 * job that cannot run, and a transient storage fault is retried within the job's budget, never
 * answered as a failure before it is spent. Thread-safe; one job's state is in its {@link JobRun}.
 */
final class JobRunner {

    private static final Logger LOG = Logger.getLogger(JobRunner.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Manifests are a few hundred bytes per image; anything this big is not one of ours. */
    private static final int MAX_MANIFEST_BYTES = 1 << 20;
    /** How every deadline failure's reason begins: the one failure that is not dead-lettered. */
    static final String DEADLINE_PASSED = "deadline passed: ";
    private static final String PNG = "image/png";
    private static final Duration PROGRESS_WEBHOOK_INTERVAL = Duration.ofSeconds(1);
    /** Previews of one job queued for the store and broker at most; more are dropped. */
    static final int PREVIEWS_PENDING = 3;

    /**
     * The runner's plain settings.
     *
     * @param defaultBucket      where a job without {@code output.bucket} is stored
     * @param presignTtl         how long the completed event's image URLs are valid
     * @param runningStatusDelay how long a job runs before its {@code running} status is written
     * @param previews           what jobs that ask for previews get
     */
    record Settings(String defaultBucket, Duration presignTtl, Duration runningStatusDelay, PreviewCaps previews) {
    }

    private final Settings settings;
    private final ObjectStore store;
    private final ImageInputs images;
    private final OutputBuckets buckets;
    private final JobAnswers answers;
    private final Cancellations cancellations;
    private final ExecutorService storeThreads;
    private final WorkerMetrics metrics;
    private final Clock clock;

    JobRunner(Settings settings, ObjectStore store, ImageInputs images, OutputBuckets buckets, JobAnswers answers,
              Cancellations cancellations, Infrastructure infrastructure) {
        this.settings = settings;
        this.store = store;
        this.images = images;
        this.buckets = buckets;
        this.answers = answers;
        this.cancellations = cancellations;
        this.storeThreads = infrastructure.storeThreads();
        this.metrics = infrastructure.metrics();
        this.clock = infrastructure.clock();
    }

    /** What the runner shares with the rest of the worker: threads, metrics, the clock, shutdown. */
    record Infrastructure(ExecutorService storeThreads, WorkerMetrics metrics, Clock clock, Cancellation shutdown) {
    }

    /**
     * A valid job whose model (or refiner) this worker is configured with but could not load:
     * failed, retryable, dead-lettered to be replayed once the model is mended, its status written
     * where the job's would be. The load error stays in the log and the readiness check: it names
     * the worker's files, which are not the submitter's business.
     */
    Outcome unavailable(JobRun run, Intake.Unavailable unavailable) {
        Job job = unavailable.job();
        run.metadata = job.metadata().orElse(null);
        try {
            Location location = Location.of(job, run.tenant, settings.defaultBucket());
            run.location = Optional.of(location);
            // A redelivery of a job another worker answered already: that answer, not a contradicting one.
            Optional<Outcome> before = answeredAlready(run, job, unavailable.digest(), location);
            if (before.isPresent()) {
                return before.get();
            }
        } catch (IllegalArgumentException e) {
            run.location = Optional.empty(); // intake checked the prefix; nowhere to write a status otherwise
        } catch (IOException e) {
            LOG.warnf("job %s: %s (answering it unavailable all the same)", job.id(), e.getMessage());
        }
        return new Outcome.Failed(new JobEvents.Failed("model \"" + unavailable.model() + "\" failed to load on"
                + " this worker; the job is dead-lettered, to be replayed once the model is mended", null, true,
                run.metadata), true);
    }

    /**
     * Runs the job.
     *
     * @throws JobAbandonedException when the worker cut it off at shutdown: no answer
     * @throws UnansweredJobException when its started event could not be published (push mode, past the budget)
     */
    Outcome run(JobRun run, Intake.Accepted accepted, Cancellation shutdown) {
        Outcome outcome = attempt(run, accepted, shutdown);
        if (outcome instanceof Outcome.Completed || run.answeredBefore || run.location.isEmpty()) {
            return outcome;
        }
        // Another run of the job (on another worker, after a rebalance) may have completed it
        // meanwhile: a failure or cancellation answered after that would contradict its completed event.
        return completedMeanwhile(run, accepted, run.location.get()).<Outcome>map(m -> new Outcome.Completed(m, true))
                .orElse(outcome);
    }

    /** The job's own manifest, if one is there now; empty when there is none or the store cannot say. */
    private Optional<Manifest> completedMeanwhile(JobRun run, Intake.Accepted accepted, Location location) {
        try {
            // One try, not the retry budget: a failure for want of storage is not kept waiting twice.
            Optional<Manifest> done = parsed(accepted.job().id(), location, storedManifest(location))
                    .filter(m -> m.isOf(run.tenant.id()) && accepted.digest().equals(m.jobDigest()));
            return done.isPresent() ? Optional.of(withAnswer(run, done.get())) : done;
        } catch (IOException e) {
            return Optional.empty(); // storage is what failed it, most likely: the failure stands
        }
    }

    private Outcome attempt(JobRun run, Intake.Accepted accepted, Cancellation shutdown) {
        Job job = accepted.job();
        run.metadata = job.metadata().orElse(null);
        Location location;
        try {
            location = Location.of(job, run.tenant, settings.defaultBucket());
        } catch (IllegalArgumentException e) {
            return rejected(job, new Violation("output.keyPrefix", e.getMessage(), "a prefix of valid S3 keys"));
        }
        run.location = Optional.of(location);
        try {
            Optional<Outcome> before = answeredAlready(run, job, accepted.digest(), location);
            if (before.isPresent()) {
                return before.get();
            }
            // Before any other work: a cancelled job costs no storage calls and cannot fail instead.
            Optional<String> cancelled = cancellations.reason(run.tenant.id(), job.id());
            if (cancelled.isPresent()) {
                return new Outcome.Cancelled(new JobEvents.Cancelled("cancelled before it started: "
                        + cancelled.get(), run.metadata));
            }
            // Its deadline passed while it was queued: a final answer, like a deadline passed while it ran.
            Optional<Instant> deadline = job.deadline().filter(d -> !clock.instant().isBefore(d));
            if (deadline.isPresent()) {
                return new Outcome.Failed(new JobEvents.Failed(DEADLINE_PASSED + deadline.get()
                        + " came before the job could start", null, false, run.metadata), false);
            }
            if (job.output().isPresent() && !run.retries.storage("bucket check", () -> buckets.usable(location.bucket()))) {
                run.location = Optional.empty(); // nowhere to write its status either
                return rejected(job, new Violation("output.bucket", "bucket \"" + location.bucket()
                        + "\" does not exist or the worker may not use it", "an existing bucket the worker may write"));
            }
            Validated<Optional<ImageInput>> input = run.retries.storage("input images", () -> images.resolve(job));
            if (input instanceof Validated.Invalid<Optional<ImageInput>> invalid) {
                return rejected(invalid.rejection(), run.metadata);
            }
            Optional<ImageInput> image = ((Validated.Valid<Optional<ImageInput>>) input).value();
            // Before the started event: an edit the model cannot make fails the job naming its field.
            try (RewrittenModels.Lease lease = accepted.models().rewrites().lease(job, accepted.pipeline())) {
                return generate(run, accepted.on(lease.pipeline()), location, image, shutdown);
            }
        } catch (InvalidRequestException e) {
            return rejected(job, new Violation(e.field(), e.problem(), "what model " + job.model() + " can run"));
        } catch (JobCancelledException e) {
            return new Outcome.Cancelled(new JobEvents.Cancelled("cancelled while running: " + e.getMessage(),
                    run.metadata));
        } catch (GenerationCancelledException e) {
            return new Outcome.Failed(new JobEvents.Failed(DEADLINE_PASSED + "generation stopped at "
                    + job.deadline().map(Instant::toString).orElse("?") + " (" + e.getMessage() + ")", null, false,
                    run.metadata), false);
        } catch (PermanentStorageException e) {
            LOG.warnf("job %s: storage refused it: %s", job.id(), e.getMessage());
            // The worker's addresses stay in its log; the submitter is told the rest.
            return new Outcome.Failed(new JobEvents.Failed("storage refused the job: "
                    + EndpointRedaction.redact(e.getMessage()), null, false, run.metadata), true);
        } catch (IOException e) {
            LOG.warnf("job %s: %s", job.id(), e.getMessage());
            return new Outcome.Failed(new JobEvents.Failed(EndpointRedaction.redact(e.getMessage()), null, true,
                    run.metadata), true);
        }
    }

    /**
     * Where a job without a seed draws one: from its tenant and id, not at random, so that every run
     * of the job draws the same seed and writes the same images. A job runs more than once when its
     * record is redelivered (a worker killed before its commit) or, rarely, twice at once (a
     * rebalance hands an uncommitted record to another worker, or the same job is posted again while
     * queued): with random seeds the two runs would overwrite each other's images with different
     * ones and answer with different seeds. Ids are unique per job, so jobs still get different seeds.
     */
    static SplittableRandom seedSource(String tenantId, String jobId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((tenantId + "\n" + jobId).getBytes(StandardCharsets.UTF_8));
            return new SplittableRandom(ByteBuffer.wrap(digest).getLong());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /**
     * The answer this job has already: its manifest (completed), or the failure or cancellation
     * this very delivery was answered with (its worker died before the commit).
     */
    private Optional<Outcome> answeredAlready(JobRun run, Job job, String digest, Location location) throws IOException {
        Optional<Manifest> done = manifest(run, job.id(), location);
        // Another job completed under this id and output (a manifest of an older worker has no
        // digest): its answer is not this job's, nor, where tenants share a prefix, this caller's
        // to see. Refused as POST /v1/jobs refuses it (409), writing nothing where the other's objects are.
        if (done.isPresent() && isAnotherJobs(done.get(), run, digest)) {
            return Optional.of(anotherJobsId(run, job, location));
        }
        if (done.isPresent()) {
            LOG.infof("job %s is already complete (%s/%s): answering it again", job.id(), location.bucket(),
                    location.keys().manifest());
            return Optional.of(new Outcome.Completed(withAnswer(run, done.get()), true));
        }
        Optional<Outcome> answered = answers.answeredBefore(run, location);
        answered.ifPresent(a -> run.answeredBefore = true);
        return answered;
    }

    /** Whether two manifests hold the same completed event: one run's, not two runs' of a job (their times differ). */
    private static boolean isSameAnswer(Manifest a, Manifest b) {
        return a.answer() != null && b.answer() != null && a.answer().eventId().equals(b.answer().eventId())
                && a.answer().source().equals(b.answer().source()) && a.completedAt().equals(b.completedAt());
    }

    /**
     * Whether a manifest under this job's id and output is another job's: another digest (a manifest
     * of an older worker has none), or another tenant's (tenants granted one output prefix share
     * its keys: one tenant's result is never another's answer, whatever the job).
     */
    private static boolean isAnotherJobs(Manifest manifest, JobRun run, String digest) {
        return !manifest.isOf(run.tenant.id()) || manifest.jobDigest() != null && !manifest.jobDigest().equals(digest);
    }

    /** Refused, writing nothing more where another job's result is stored under this id and output. */
    private Outcome anotherJobsId(JobRun run, Job job, Location location) {
        LOG.warnf("job %s: %s/%s holds another job's result under this id; refused", job.id(), location.bucket(),
                location.keys().manifest());
        run.location = Optional.empty();
        return rejected(job, new Violation("id", "is the id of another job, completed already",
                "an id no other job has used"));
    }

    private Optional<Manifest> manifest(JobRun run, String jobId, Location location) throws IOException {
        // HEAD first: almost every job is new, and a bodiless 404 is cheaper for both ends than a
        // GET's XML error; only a redelivered, completed job pays the second request.
        return parsed(jobId, location, run.retries.storage("manifest check", () -> storedManifest(location)));
    }

    private Optional<StoredObject> storedManifest(Location location) throws IOException {
        return store.exists(location.bucket(), location.keys().manifest())
                ? store.get(location.bucket(), location.keys().manifest(), MAX_MANIFEST_BYTES) : Optional.empty();
    }

    private Optional<Manifest> parsed(String jobId, Location location, Optional<StoredObject> stored) throws IOException {
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        Manifest manifest;
        try {
            manifest = JSON.readValue(stored.get().bytes(), Manifest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            // Not a manifest this worker wrote (the tenant's own bucket, a stray object): no answer either.
            LOG.warnf("job %s: %s/%s is no result manifest (%s); ignored", jobId, location.bucket(),
                    location.keys().manifest(), e.getOriginalMessage());
            return Optional.empty();
        }
        // The output may be a bucket the tenant writes itself; a manifest naming other keys would
        // have the worker presign them (Manifest.isFor), so it is no answer: the job runs and replaces it.
        if (!manifest.isFor(jobId, location.bucket(), location.keys())) {
            LOG.warnf("job %s: %s/%s names another job, bucket or prefix than the job's own; ignored", jobId,
                    location.bucket(), location.keys().manifest());
            return Optional.empty();
        }
        return Optional.of(manifest);
    }

    private Outcome generate(JobRun run, Intake.Accepted accepted, Location location, Optional<ImageInput> image,
                             Cancellation shutdown) throws IOException {
        Job job = accepted.job();
        DiffusionPipeline pipeline = accepted.pipeline();
        answers.started(run, new JobEvents.Started(job.model(), run.queueMs, run.metadata));
        run.runningStatus = DeferredWrite.after(settings.runningStatusDelay(), () -> writeRunning(run, location),
                storeThreads);

        GenerationPlan plan = job.toGenerationRequest(image, seedSource(run.tenant.id(), job.id()), accepted.models().defaults(),
                accepted.models().refiner());
        GenerationRequest request = plan.request().withPreviews(settings.previews().apply(plan.request().previews()));
        GenerationResult result = pipeline.generate(request, progress(run, location),
                cancellation(run, job, shutdown));
        run.retries.startAgain();

        long encodeStart = System.nanoTime();
        String scheduler = pipeline.schedulerName(request);
        // One encoder per job: PngEncoder keeps buffers and is not thread-safe.
        PngEncoder png = new PngEncoder();
        List<byte[]> pngs = new ArrayList<>();
        for (GeneratedImage generated : result.images()) {
            pngs.add(png.encode(generated.image(), GenerationMetadata.pngText(request, job.model(), scheduler, generated)));
        }
        long uploadStart = System.nanoTime();
        List<Manifest.StoredImage> stored = upload(run, job, location, result, pngs);
        long uploadNanos = System.nanoTime() - uploadStart;
        Map<String, Long> timings = timings(result.timings(), run, accepted.loadMs(), uploadStart - encodeStart,
                uploadNanos);

        Instant completedAt = clock.instant();
        // Within the budget: the images are made and stored, and a credentials refresh that fails
        // once must not throw them away.
        List<JobEvents.Image> eventImages = run.retries.storage("presign", () -> {
            try {
                return stored.stream().map(i -> new JobEvents.Image(i.objectKey(), store.presignGet(location.bucket(),
                        i.objectKey(), settings.presignTtl()).toString(), i.seed(), i.clipScore())).toList();
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        });
        JobEvent completed = answers.completedEvent(run, new JobEvents.Completed(location.bucket(), eventImages,
                job.model(), timings, run.metadata), completedAt);
        Manifest manifest = new Manifest(job.id(), job.model(), location.bucket(), stored, plan.seed(), plan.seedChosen(),
                scheduler, timings, run.metadata, completedAt.toString(), accepted.digest(),
                new Manifest.Answer(completed.id(), completed.source().toString(), completed.data()), run.tenant.id());
        // Last, after the running status too (if the job ran long enough to write one): its
        // presence is what says the job is complete, and nothing of the job's may land after it.
        run.runningStatus.skipOrAwait();
        byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
        Map<String, String> manifestMetadata = Map.of("job-id", job.id());
        // Only if none is there: of two runs at once, the first manifest stored is the job's answer.
        if (!run.retries.storage("manifest", () -> store.putIfAbsent(location.bucket(), location.keys().manifest(),
                manifestBytes, "application/json", manifestMetadata))) {
            Optional<Outcome> first = storedFirst(run, job, accepted.digest(), location, manifest);
            if (first.isPresent()) {
                metrics.stages(job.model(), timings); // the work was done, though another run's answer stands
                return first.get();
            }
            run.retries.storage("manifest", () -> {
                store.put(location.bucket(), location.keys().manifest(), manifestBytes, "application/json",
                        manifestMetadata);
                return null;
            });
        }
        LOG.infof("job %s completed: %d image(s) in %s/%s, %d ms", job.id(), stored.size(), location.bucket(),
                location.keys(), timings.get("total"));
        metrics.stages(job.model(), timings);
        return new Outcome.Completed(manifest, false);
    }

    /**
     * The answer in the manifest another run stored while this one generated: two runs of one job
     * at once (a rebalance hands its uncommitted record to a second worker while the first still
     * runs it). Both stored the same images (one seed per job), so the first manifest, and the
     * completed event in it, answers both: the second run sends that event again, same id, and
     * consumers see one completion. Empty when what is there is no manifest of this job's
     * (the tenant's own object), which is replaced, as at the start of a run; or when it is this
     * run's own (a retried write whose first try was stored though its answer was lost).
     */
    private Optional<Outcome> storedFirst(JobRun run, Job job, String digest, Location location, Manifest own)
            throws IOException {
        Optional<Manifest> first = manifest(run, job.id(), location);
        if (first.isEmpty() || isSameAnswer(first.get(), own)) {
            return Optional.empty();
        }
        if (isAnotherJobs(first.get(), run, digest)) {
            return Optional.of(anotherJobsId(run, job, location)); // completed meanwhile: its answer stands
        }
        LOG.infof("job %s: another run of it stored its result first (%s/%s): answering with that", job.id(),
                location.bucket(), location.keys().manifest());
        return Optional.of(new Outcome.Completed(withAnswer(run, first.get()), true));
    }

    /**
     * A manifest with its completed event: one of an older worker stored none, and the event made
     * from it presigns its images, which may need a credentials refresh that fails for now. Made
     * here, within the job's budget, not while answering, where such a fault would be a bug's.
     */
    private Manifest withAnswer(JobRun run, Manifest manifest) throws IOException {
        if (manifest.answer() != null) {
            return manifest;
        }
        JobEvent event = run.retries.storage("presign", () -> {
            try {
                return answers.completion(run.tenant.id(), manifest.jobId(), manifest);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        });
        return manifest.withAnswer(new Manifest.Answer(event.id(), event.source().toString(), event.data()));
    }

    /** All images at once, each retried on its own; the last on this thread, which has nothing else to do meanwhile. */
    private List<Manifest.StoredImage> upload(JobRun run, Job job, Location location, GenerationResult result,
                                              List<byte[]> pngs) throws IOException {
        List<Manifest.StoredImage> stored = new ArrayList<>();
        List<CompletableFuture<Void>> uploads = new ArrayList<>();
        for (int i = 0; i < pngs.size(); i++) {
            GeneratedImage generated = result.images().get(i);
            String key = location.keys().image(i);
            byte[] bytes = pngs.get(i);
            Map<String, String> metadata = Map.of("job-id", job.id(), "seed", Long.toString(generated.seed()));
            Retries.StorageCall<Void> put = () -> {
                store.put(location.bucket(), key, bytes, PNG, metadata);
                return null;
            };
            String what = "image " + i;
            if (i < pngs.size() - 1) {
                try {
                    uploads.add(CompletableFuture.runAsync(() -> {
                        try {
                            run.retries.storage(what, put);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, storeThreads));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // The store threads are shut down: the worker is stopping, past its grace.
                    awaitQuietly(uploads);
                    throw new JobAbandonedException("the worker stopped while the job's images were stored");
                }
            } else {
                try {
                    run.retries.storage(what, put);
                } catch (IOException | RuntimeException | Error e) {
                    awaitQuietly(uploads); // none keeps writing after the job is answered
                    throw e;
                }
            }
            stored.add(new Manifest.StoredImage(key, generated.seed(),
                    generated.clipScore().isPresent() ? generated.clipScore().getAsDouble() : null));
        }
        awaitAll(uploads);
        return stored;
    }

    /** Waits for the uploads started, whatever they end in: the job's own failure is what is answered. */
    private static void awaitQuietly(List<CompletableFuture<Void>> uploads) {
        for (CompletableFuture<Void> upload : uploads) {
            try {
                upload.join();
            } catch (CompletionException | java.util.concurrent.CancellationException ignored) {
                // The failure that ended the job is reported instead.
            }
        }
    }

    /**
     * Waits for every upload, so none is still running when the manifest is written; rethrows the
     * first failure, an unchecked one (JobAbandonedException at shutdown, a bug, an Error) before a
     * storage one. None is dropped: a manifest must never name an image that was not stored.
     */
    private static void awaitAll(List<CompletableFuture<Void>> uploads) throws IOException {
        IOException failure = null;
        Throwable unchecked = null;
        for (CompletableFuture<Void> upload : uploads) {
            try {
                upload.join();
            } catch (CompletionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                if (cause instanceof UncheckedIOException io) {
                    failure = failure == null ? io.getCause() : failure;
                } else if (unchecked == null) {
                    unchecked = cause;
                }
            }
        }
        if (unchecked instanceof RuntimeException r) {
            throw r;
        }
        if (unchecked instanceof Error error) {
            throw error;
        }
        if (unchecked != null) { // a checked exception thrown sneakily: still no manifest
            throw new IllegalStateException(unchecked);
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Best effort: it only tells a reader the job has begun. */
    private void writeRunning(JobRun run, Location location) {
        try {
            byte[] status = JSON.writeValueAsBytes(new JobStatus(JobStatus.RUNNING,
                    null, null, null, clock.instant().toString(), run.tenant.id()));
            store.put(location.bucket(), location.keys().status(), status, "application/json", Map.of("job-id", run.jobId));
        } catch (IOException | RuntimeException e) {
            LOG.warnf("job %s: running status not stored in %s/%s: %s", run.jobId, location.bucket(),
                    location.keys().status(), e.getMessage());
        }
    }

    private ProgressListener progress(JobRun run, Location location) {
        Instant[] lastHook = {Instant.EPOCH};
        return new ProgressListener() {
            @Override
            public void onStep(int step, int total) {
                Instant now = clock.instant();
                boolean hookDue = step >= total || !now.isBefore(lastHook[0].plus(PROGRESS_WEBHOOK_INTERVAL));
                if (hookDue) {
                    lastHook[0] = now;
                }
                answers.progress(run, new JobEvents.Progress(step, total, null), hookDue);
            }

            @Override
            public void onPreview(Preview preview) {
                preview(run, location, preview);
            }
        };
    }

    /**
     * Stores the preview as the job's {@code preview.png} and then publishes its event, beside the
     * job and after the job's previous preview (so they arrive in order, and each event's object is
     * its own picture or a later one): denoising never waits for a preview. Cosmetic, so best
     * effort: one try; a preview over {@code max-bytes}, or one that finds {@link #PREVIEWS_PENDING}
     * still queued (storage or broker slower than denoising), is dropped.
     */
    private void preview(JobRun run, Location location, Preview preview) {
        if (run.previewsPending.get() >= PREVIEWS_PENDING) {
            LOG.debugf("job %s: preview of step %d dropped: %d still being sent", run.jobId, preview.step(),
                    PREVIEWS_PENDING);
            return;
        }
        if (preview.png().length > settings.previews().maxBytes()) {
            LOG.debugf("job %s: preview of step %d dropped: %d bytes > easel.worker.previews.max-bytes %d", run.jobId,
                    preview.step(), preview.png().length, settings.previews().maxBytes());
            return;
        }
        String key = location.keys().preview();
        run.previewsPending.incrementAndGet();
        try {
            run.preview = run.preview.thenRunAsync(() -> {
                try {
                    store.put(location.bucket(), key, preview.png(), PNG, Map.of("job-id", run.jobId,
                            "step", Integer.toString(preview.step())));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, storeThreads).thenCompose(stored -> answers.preview(run, new JobEvents.Preview(preview.step(),
                    preview.total(), preview.mode().wireName(), preview.width(), preview.height(), key,
                    store.presignGet(location.bucket(), key, settings.presignTtl()).toString())))
                    .handle((sent, e) -> {
                        run.previewsPending.decrementAndGet();
                        if (e != null) {
                            LOG.debugf("job %s: preview of step %d not sent: %s", run.jobId, preview.step(), e.toString());
                        }
                        return null;
                    });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            run.previewsPending.decrementAndGet();
            LOG.debugf("job %s: preview dropped, the worker is stopping", run.jobId);
        }
    }

    /**
     * Shutdown first: a job cut off by its worker gets no answer and runs again elsewhere; then a
     * cancellation by its submitter; then its deadline, past which it fails for good.
     */
    private Cancellation cancellation(JobRun run, Job job, Cancellation shutdown) {
        Optional<Instant> deadline = job.deadline();
        return () -> {
            shutdown.check();
            Optional<String> cancelled = cancellations.reason(run.tenant.id(), job.id());
            if (cancelled.isPresent()) {
                throw new JobCancelledException(cancelled.get());
            }
            if (deadline.isPresent() && !clock.instant().isBefore(deadline.get())) {
                throw new GenerationCancelledException("deadline " + deadline.get() + " passed");
            }
        };
    }

    private static Outcome rejected(Job job, Violation violation) {
        return rejected(new JobRejection(Optional.of(job.id()), List.of(violation)), job.metadata().orElse(null));
    }

    private static Outcome rejected(JobRejection rejection, JsonNode metadata) {
        return new Outcome.Failed(new JobEvents.Failed("invalid job: " + rejection.summary(), rejection.violations(),
                false, metadata), true);
    }

    private static Map<String, Long> timings(StageTimings stages, JobRun run, long loadMs, long encodeNanos,
                                             long uploadNanos) {
        Map<String, Long> timings = new LinkedHashMap<>();
        timings.put("queue", run.queueMs);
        timings.put("load", loadMs);
        timings.put("textEncode", millis(stages.tokenize() + stages.textEncode()));
        timings.put("denoise", millis(stages.vaeEncode() + stages.unet() + stages.scheduler()));
        timings.put("decode", millis(stages.vaeDecode()));
        if (stages.clip() > 0) {
            timings.put("clip", millis(stages.clip()));
        }
        timings.put("encode", millis(encodeNanos));
        timings.put("upload", millis(uploadNanos));
        timings.put("total", millis(System.nanoTime() - run.startNanos));
        return timings;
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
