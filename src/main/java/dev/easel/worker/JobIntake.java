package dev.easel.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.config.JobLimitsConfig;
import dev.easel.contract.EventKind;
import dev.easel.contract.Job;
import dev.easel.contract.JobLimits;
import dev.easel.contract.JobParser;
import dev.easel.contract.JobRejection;
import dev.easel.contract.JobWebhook;
import dev.easel.contract.ModelParts;
import dev.easel.contract.PromptChunking;
import dev.easel.contract.Validated;
import dev.easel.contract.Violation;
import dev.easel.engine.bundle.BundleException;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Lora;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.engine.tokenizer.PromptChunks;
import dev.easel.engine.tokenizer.PromptMode;
import dev.easel.security.StorageAccess;
import dev.easel.security.Tenant;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The first room of a job: its bytes, from a record or a request, parsed once into a {@link Job}
 * for a model this worker serves, or a rejection naming every problem. Both ways in (Kafka and
 * HTTP) and the HTTP API's validation before queueing go through here, so a job is judged by the
 * same rules wherever it comes from. Thread-safe.
 */
@ApplicationScoped
public class JobIntake {

    private static final Logger LOG = Logger.getLogger(JobIntake.class);

    private final ModelRegistry models;
    private final JobParser parser;
    private final ConcurrentMap<String, JobParser> parsers = new ConcurrentHashMap<>();

    @Inject
    JobIntake(ModelRegistry models, JobLimitsConfig limits) {
        this(models, limits.toJobLimits(), Clock.systemUTC());
    }

    JobIntake(ModelRegistry models, JobLimits limits, Clock clock) {
        this.models = models;
        this.parser = new JobParser(limits).withClock(clock);
    }

    /**
     * Reads a job.
     *
     * @param json        the job document (JSON bytes)
     * @param source      where it came from: the key to answer under when the job has no valid id,
     *                    and the delivery a job without an id takes its id from
     * @param tenant      whose job it is: its storage references must be inside the tenant's grants
     * @param submittedAt when it was submitted (its record's time): a {@code deadline} must be after
     *                    it. One that has passed since is no fault of the job; the runner answers it.
     */
    Intake take(byte[] json, Intake.Source source, Tenant tenant, Instant submittedAt) {
        Validated<JsonNode> read = parser.read(json);
        if (read instanceof Validated.Invalid<JsonNode> invalid) {
            return new Intake.Rejected(source.key().orElseGet(source::jobId), invalid.rejection(), Optional.empty(),
                    Optional.empty());
        }
        JsonNode tree = ((Validated.Valid<JsonNode>) read).value();
        // The parser counts prompt tokens with the model's tokenizer, so the model is looked up
        // first; the wait is the model-load time when a job arrives while bundles are loading.
        long loadStart = System.nanoTime();
        Optional<DiffusionPipeline> pipeline = text(tree, "model").flatMap(models::pipeline);
        long loadMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - loadStart);

        Validated<Job> parsed = parser(pipeline).withClock(Clock.fixed(submittedAt, ZoneOffset.UTC))
                .withIdGenerator(source::jobId).parse(tree);
        if (parsed instanceof Validated.Invalid<Job> invalid) {
            JobRejection rejection = invalid.rejection();
            String id = rejection.id().or(source::key).orElseGet(source::jobId);
            Optional<JsonNode> metadata = rejection.violations().stream().anyMatch(v -> v.field().startsWith("metadata"))
                    ? Optional.empty() : Optional.ofNullable(tree.get("metadata")).filter(JsonNode::isObject);
            return new Intake.Rejected(id, rejection, usableWebhook(tree, rejection), metadata);
        }
        Job job = ((Validated.Valid<Job>) parsed).value();
        List<Violation> outside = StorageAccess.check(job, tenant);
        if (!outside.isEmpty()) {
            return new Intake.Rejected(job.id(), new JobRejection(Optional.of(job.id()), outside),
                    job.webhook().filter(w -> w.events().contains(EventKind.FAILED)), job.metadata().map(m -> m));
        }
        Optional<String> failed = pipeline.isEmpty() ? models.failure(job.model()) : Optional.empty();
        if (failed.isPresent()) {
            return new Intake.Unavailable(job, parser.digest(job), job.model(), failed.get());
        }
        if (pipeline.isEmpty()) {
            String known = String.join(", ", models.configured()); // not available(): it waits for every load
            JobRejection rejection = new JobRejection(Optional.of(job.id()), List.of(new Violation("model",
                    "is not a model this worker serves, got \"" + job.model() + "\"",
                    known.isEmpty() ? "no models configured" : "one of " + known)));
            return new Intake.Rejected(job.id(), rejection, job.webhook().filter(w -> w.events().contains(EventKind.FAILED)),
                    job.metadata().map(m -> m));
        }
        Optional<DiffusionPipeline> refiner = job.refiner().flatMap(r -> models.pipeline(r.model()));
        Optional<String> refinerFailed = job.refiner().isPresent() && refiner.isEmpty()
                ? models.failure(job.refiner().get().model()) : Optional.empty();
        if (refinerFailed.isPresent()) {
            return new Intake.Unavailable(job, parser.digest(job), job.refiner().get().model(), refinerFailed.get());
        }
        if (job.refiner().isPresent() && refiner.isEmpty()) {
            JobRejection rejection = new JobRejection(Optional.of(job.id()), List.of(new Violation("refiner.model",
                    "is not a model this worker serves, got \"" + job.refiner().get().model() + "\"",
                    "one of " + String.join(", ", models.configured()))));
            return new Intake.Rejected(job.id(), rejection, job.webhook().filter(w -> w.events().contains(EventKind.FAILED)),
                    job.metadata().map(m -> m));
        }
        Optional<Violation> handover = handoverViolation(job, pipeline.get(), refiner);
        if (handover.isPresent()) {
            return new Intake.Rejected(job.id(), new JobRejection(Optional.of(job.id()), List.of(handover.get())),
                    job.webhook().filter(w -> w.events().contains(EventKind.FAILED)), job.metadata().map(m -> m));
        }
        // A variant's UNet is opened from its base's file with patched weights: a second edit would
        // start again from the file and silently drop the variant's own.
        Optional<ModelRegistry.Variant> variant = models.variant(job.model());
        if (job.rewrite().isPresent() && variant.isPresent()) {
            JobRejection rejection = new JobRejection(Optional.of(job.id()), List.of(new Violation("rewrite",
                    "is not supported on model \"" + job.model() + "\", a configured variant of \""
                            + variant.get().base() + "\"", "a rewrite on a model that is not a variant")));
            return new Intake.Rejected(job.id(), rejection, job.webhook().filter(w -> w.events().contains(EventKind.FAILED)),
                    job.metadata().map(m -> m));
        }
        Optional<Violation> lora = loraViolation(job, variant, pipeline);
        if (lora.isPresent()) {
            return new Intake.Rejected(job.id(), new JobRejection(Optional.of(job.id()), List.of(lora.get())),
                    job.webhook().filter(w -> w.events().contains(EventKind.FAILED)), job.metadata().map(m -> m));
        }
        return new Intake.Accepted(job, parser.digest(job), new Intake.Accepted.Models(pipeline.get(), refiner,
                models.defaults(pipeline.get()), models.rewrites()), loadMs);
    }

    /**
     * The job's hand-over to its refiner as the run will make it ({@link DiffusionPipeline#checkHandover}):
     * a {@code switchAt} that leaves the base or the refiner no step, or a refiner whose scheduler
     * cannot start at the hand-over. Judged where both models are loaded here.
     */
    private Optional<Violation> handoverViolation(Job job, DiffusionPipeline base, Optional<DiffusionPipeline> refiner) {
        if (job.refiner().isEmpty() || refiner.isEmpty()) {
            return Optional.empty();
        }
        int steps = job.steps().orElse(models.defaults(base).model().steps());
        Optional<Float> strength = job.initImage().map(i -> (float) job.effectiveStrength());
        try {
            base.checkHandover(new DiffusionPipeline.Schedule(job.scheduler(), steps, (float) job.eta(), Optional.empty()),
                    strength, refiner.get(), job.refiner().get().effectiveSwitchAt());
            return Optional.empty();
        } catch (InvalidRequestException e) {
            return Optional.of(new Violation(e.field(), e.problem(), "a schedule and hand-over at which model \""
                    + job.model() + "\" and refiner \"" + job.refiner().get().model() + "\" both run"));
        }
    }

    /**
     * The job's {@code loras} against this worker: not on a variant (its UNet is already patched),
     * each name an adapter file of {@code easel.loras.dir}, and, where this process has the model,
     * each adapter fitting it (from the files' headers: {@link StableDiffusionModel#checkLoras});
     * checked before any work.
     */
    private Optional<Violation> loraViolation(Job job, Optional<ModelRegistry.Variant> variant,
                                              Optional<DiffusionPipeline> pipeline) {
        List<Job.Lora> loras = job.loras().orElse(List.of());
        if (loras.isEmpty()) {
            return Optional.empty();
        }
        if (variant.isPresent()) {
            return Optional.of(new Violation("loras", "are not supported on model \"" + job.model()
                    + "\", a configured variant of \"" + variant.get().base() + "\"", "loras on a model that is not a variant"));
        }
        LoraLibrary library = models.loras();
        List<Lora> adapters = new java.util.ArrayList<>();
        for (int i = 0; i < loras.size(); i++) {
            String name = loras.get(i).name();
            Optional<java.nio.file.Path> file = library.file(name);
            if (file.isEmpty()) {
                return Optional.of(new Violation(Job.Lora.nameField(i), "is not an adapter this worker has, got \""
                        + name + "\"", library.known()));
            }
            adapters.add(new Lora(name, file.get(), loras.get(i).scale().orElse(1.0)));
        }
        if (pipeline.isEmpty()) {
            return Optional.empty();
        }
        try {
            pipeline.get().model().checkLoras(adapters);
            return Optional.empty();
        } catch (InvalidRequestException e) {
            return Optional.of(new Violation(e.field(), e.problem(), "an adapter that fits model \"" + job.model() + "\""));
        } catch (BundleException e) {
            // The model's own graph could not be indexed: not the job's fault; the build reports it.
            LOG.warnf("adapters of job %s not checked at intake: %s", job.id(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Checks a job with the rules the worker applies to it, prompt tokens included when this
     * process serves the job's model, and its storage references against the tenant's grants;
     * for the HTTP API, before the job is queued.
     */
    public Validated<Job> validate(byte[] json, Tenant tenant) {
        Validated<JsonNode> read = parser.read(json);
        if (read instanceof Validated.Invalid<JsonNode> invalid) {
            return new Validated.Invalid<>(invalid.rejection());
        }
        JsonNode tree = ((Validated.Valid<JsonNode>) read).value();
        Optional<DiffusionPipeline> pipeline = text(tree, "model").flatMap(models::pipeline);
        Validated<Job> parsed = parser(pipeline).parse(tree);
        if (parsed instanceof Validated.Valid<Job> valid) {
            List<Violation> outside = StorageAccess.check(valid.value(), tenant);
            if (!outside.isEmpty()) {
                return new Validated.Invalid<>(new JobRejection(Optional.of(valid.value().id()), outside));
            }
            Optional<Violation> handover = pipeline.flatMap(base -> handoverViolation(valid.value(), base,
                    valid.value().refiner().flatMap(r -> models.pipeline(r.model()))));
            if (handover.isPresent()) {
                return new Validated.Invalid<>(new JobRejection(Optional.of(valid.value().id()), List.of(handover.get())));
            }
            // Adapter names are known here only where this process has the adapter directory.
            Optional<Violation> lora = models.loras().configured()
                    ? loraViolation(valid.value(), models.variant(valid.value().model()), pipeline) : Optional.empty();
            if (lora.isPresent()) {
                return new Validated.Invalid<>(new JobRejection(Optional.of(valid.value().id()), List.of(lora.get())));
            }
        }
        return parsed;
    }

    /** The job as contract JSON, defaults included: what the HTTP API queues. */
    public byte[] toJson(Job job) {
        return parser.toJson(job);
    }

    /** The job's digest ({@link JobParser#digest}): equal for equal jobs. */
    public String digest(Job job) {
        return parser.digest(job);
    }

    private JobParser parser(Optional<DiffusionPipeline> pipeline) {
        return pipeline.map(p -> parsers.computeIfAbsent(p.model().name(),
                name -> parser.withTokenCounter(p.model().config().tokenizer()::countTokens)
                        .withParts(new ModelParts(p.model().hasClip(), p.model().hasClipGuidance(),
                                p.model().hasVaeEncoder()))
                        .withChunking(new PromptChunking(text -> chunked(p.model().config().tokenizer(), text),
                                p.model()::takesPromptChunks))
                        .withSchedule((scheduler, steps, eta, late) -> schedule(p, scheduler, steps, eta, late))
                        .withPromptSyntax(models.defaults(p).promptSyntax())
                        .withDefaults(models.defaults(p).model()))).orElse(parser);
    }

    /** The engine's schedule checks (DiffusionPipeline.checkSchedule) as the intake's violation. */
    private static Optional<Violation> schedule(DiffusionPipeline p, Optional<String> scheduler, int steps, double eta,
                                                Optional<String> late) {
        try {
            p.checkSchedule(new DiffusionPipeline.Schedule(scheduler, steps, (float) eta, late));
            return Optional.empty();
        } catch (InvalidRequestException e) {
            return Optional.of(new Violation(e.field(), e.problem(), "a schedule model \"" + p.model().name()
                    + "\"'s scheduler runs"));
        }
    }

    /** A weighted prompt's chunks and its most extreme weight, as the engine's PromptChunks read them. */
    private static PromptChunking.Chunked chunked(ClipTokenizer tokenizer, String text) {
        PromptChunks chunks = PromptChunks.encode(tokenizer, text, PromptMode.WEIGHTED);
        float extreme = 1f;
        for (int c = 0; c < chunks.count(); c++) {
            for (float w : chunks.weights(c)) {
                if (!Float.isFinite(w)) {
                    return new PromptChunking.Chunked(chunks.count(), chunks.tokenCount(), w);
                }
                if (Math.abs(w) > Math.abs(extreme)) {
                    extreme = w;
                }
            }
        }
        return new PromptChunking.Chunked(chunks.count(), chunks.tokenCount(), extreme);
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
        Optional<String> url = text(webhook, "url");
        JsonNode events = webhook.path("events");
        boolean wantsFailed = events.isMissingNode() || containsText(events, EventKind.FAILED.wireName());
        if (url.isEmpty() || !wantsFailed) {
            return Optional.empty();
        }
        return Optional.of(new JobWebhook(URI.create(url.get()), List.of(EventKind.FAILED)));
    }

    private static boolean containsText(JsonNode array, String text) {
        for (JsonNode element : array) {
            if (element.isTextual() && element.asText().equals(text)) {
                return true;
            }
        }
        return false;
    }

    static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isTextual() ? Optional.of(value.asText()) : Optional.empty();
    }
}
