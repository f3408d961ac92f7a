package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.JobRejection;
import dev.easel.contract.Violation;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The CloudEvents (spec 1.0) Easel publishes about a job, and their {@code data} payloads.
 * Field names are the wire format (docs/events.md); change them only with a new event type.
 */
public final class JobEvents {

    public static final String SPEC_VERSION = "1.0";
    // CloudEvent types, for readers of the topic; EventKind is their one spelling.
    public static final String STARTED = EventKind.STARTED.ceType();
    public static final String PROGRESS = EventKind.PROGRESS.ceType();
    public static final String COMPLETED = EventKind.COMPLETED.ceType();
    public static final String FAILED = EventKind.FAILED.ceType();
    public static final String CANCELLED = EventKind.CANCELLED.ceType();
    public static final String PREVIEW = EventKind.PREVIEW.ceType();
    public static final String DATA_CONTENT_TYPE = "application/json";

    /** Plain Jackson: the payloads hold only strings, numbers, lists and the client's metadata. */
    public static final ObjectMapper JSON = new ObjectMapper();

    private JobEvents() {
    }

    /**
     * The id of a job's event of that kind: the same whoever publishes it and however often, so a
     * republished event (a redelivered job, a retried publish) is a duplicate receivers can drop.
     *
     * @param discriminator tells apart events of one kind of one job (the step of a progress
     *                      event); empty for the others
     */
    public static String eventId(String scope, String jobId, EventKind kind, String discriminator) {
        String name = "easel:" + scope + ":" + jobId + ":" + kind.wireName() + ":" + discriminator;
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** {@code /easel/worker/{instance}}: which worker said it. */
    public static URI source(String instance) {
        return URI.create("/easel/worker/" + instance);
    }

    /**
     * One event before it is put on the wire: the CloudEvents attributes and the {@code data} tree.
     *
     * @param id      unique per event (a UUID derived from the job and the event's kind)
     * @param subject the job id; also the Kafka key, so one job's events stay in order on one partition
     * @param tenant  the job's tenant (the CloudEvents extension {@code easeltenant}): job ids are per tenant
     */
    public record JobEvent(String id, String type, URI source, String subject, Instant time, JsonNode data,
                           String tenant) {

        public JobEvent {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(time, "time");
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(tenant, "tenant");
        }
    }

    /** A payload of one of the four types. */
    public sealed interface Data permits Started, Progress, Completed, Failed, Cancelled, Preview {

        /** What this payload says happened. */
        EventKind kind();

        /** The CloudEvents {@code type} this payload travels under. */
        default String eventType() {
            return kind().ceType();
        }

        /** The payload as the JSON tree that becomes the event's {@code data}. */
        default JsonNode toJson() {
            return JSON.valueToTree(this);
        }
    }

    /**
     * {@code dev.easel.job.started}: a worker took the job.
     *
     * @param model       the model named in the job
     * @param queueWaitMs from the job record's timestamp to the start, in milliseconds
     * @param metadata    the job's {@code metadata}, echoed; absent when the job had none
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Started(String model, long queueWaitMs, JsonNode metadata) implements Data {
        @Override
        public EventKind kind() {
            return EventKind.STARTED;
        }
    }

    /**
     * {@code dev.easel.job.progress}: denoising step {@code step} of {@code total} is done.
     * Throttled per job ({@code easel.events.progress-per-second}); the last step is always sent.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Progress(int step, int total, JsonNode metadata) implements Data {
        @Override
        public EventKind kind() {
            return EventKind.PROGRESS;
        }
    }

    /**
     * {@code dev.easel.job.preview}: a picture of the job's images (side by side when several) as they would end after
     * {@code step}, for jobs that asked for {@code previews}. The picture is not in the event (events
     * stay small): it is the object {@code objectKey} of the job's bucket, overwritten by each
     * preview, and {@code url} a presigned GET of it.
     *
     * @param mode {@code approx} or {@code decode}
     */
    public record Preview(int step, int total, String mode, int width, int height, String objectKey, String url)
            implements Data {
        @Override
        public EventKind kind() {
            return EventKind.PREVIEW;
        }
    }

    /**
     * One stored image of a completed job.
     *
     * @param objectKey the S3 key in the job's bucket
     * @param url       a presigned GET URL for it
     * @param seed      the seed that reproduces this image
     * @param clipScore its CLIP score (100 × max(cosine to the prompt, 0)) when the job used CLIP; absent otherwise
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Image(String objectKey, String url, long seed, Double clipScore) {

        public Image(String objectKey, String url, long seed) {
            this(objectKey, url, seed, null);
        }
    }

    /**
     * {@code dev.easel.job.completed}: the images are stored.
     *
     * @param bucket   the S3 bucket the images are in
     * @param images   in the job's order (image i used seed + i)
     * @param modelId  the model bundle that ran (name and revision as the worker resolved it)
     * @param timingsMs phase name → milliseconds, e.g. {@code queue}, {@code load}, {@code denoise},
     *                 {@code decode}, {@code upload}, {@code total}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Completed(String bucket, List<Image> images, String modelId, Map<String, Long> timingsMs,
                            JsonNode metadata) implements Data {

        public Completed {
            images = List.copyOf(images);
            // In the caller's order (phases as they ran); Map.copyOf's order changes from JVM to JVM.
            timingsMs = Collections.unmodifiableMap(new LinkedHashMap<>(timingsMs));
        }

        @Override
        public EventKind kind() {
            return EventKind.COMPLETED;
        }
    }

    /**
     * {@code dev.easel.job.failed}: the job will not produce images (from this attempt, if
     * {@code retryable}).
     *
     * @param reason     one line for people
     * @param violations what was wrong with the job when it was invalid; absent otherwise
     * @param retryable  whether the same job may succeed later (a broker or storage outage), as
     *                   opposed to a job that can never run
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Failed(String reason, List<Violation> violations, boolean retryable, JsonNode metadata)
            implements Data {

        public Failed {
            Objects.requireNonNull(reason, "reason");
            violations = violations == null ? null : List.copyOf(violations);
        }

        /** An invalid job: never retryable, every violation listed. */
        public static Failed rejected(JobRejection rejection) {
            return new Failed("invalid job: " + rejection.summary(), rejection.violations(), false, null);
        }

        @Override
        public EventKind kind() {
            return EventKind.FAILED;
        }
    }

    /**
     * {@code dev.easel.job.cancelled}: the job was cancelled by its submitter
     * ({@code DELETE /v1/jobs/{id}} or a record on the control topic) and produced no images.
     *
     * @param reason one line for people: who cancelled it, and whether it had started
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Cancelled(String reason, JsonNode metadata) implements Data {

        @Override
        public EventKind kind() {
            return EventKind.CANCELLED;
        }
    }
}
