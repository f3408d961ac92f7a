package dev.easel.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.Violation;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import java.util.List;
import java.util.function.Function;

/**
 * A job as the HTTP API shows it: the answer of {@code POST /v1/jobs} and {@code GET /v1/jobs/{id}}.
 * Fields that do not apply to the job's status are left out.
 *
 * @param status {@value #QUEUED}, {@value #RUNNING}, {@value #COMPLETED}, {@value #FAILED}, {@value #CANCELLED}
 *               or, for a submission whose commit was not confirmed, {@value #UNCONFIRMED}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobView(String id, String status, String statusUrl, String model, String bucket, List<Image> images,
                      Long seed, String completedAt, String reason, List<Violation> violations, Boolean retryable,
                      JsonNode metadata) {

    public static final String QUEUED = "queued";
    public static final String RUNNING = JobStatus.RUNNING;
    public static final String COMPLETED = "completed";
    public static final String FAILED = JobStatus.FAILED;
    public static final String CANCELLED = JobStatus.CANCELLED;
    /** The broker's commit of the submission was not confirmed: the job may or may not run. */
    public static final String UNCONFIRMED = "unconfirmed";
    /** The states after which nothing more happens to the job. */
    static final java.util.Set<String> FINAL = java.util.Set.of(COMPLETED, FAILED, CANCELLED);

    /**
     * One stored image; {@code url} is presigned, fresh on every answer.
     *
     * @param clipScore the image's CLIP score when the job asked for CLIP, else null (and absent in JSON)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Image(String url, String objectKey, long seed, Double clipScore) {
    }

    static JobView queued(String id) {
        return new JobView(id, QUEUED, statusUrl(id), null, null, null, null, null, null, null, null, null);
    }

    static JobView unconfirmed(String id) {
        return new JobView(id, UNCONFIRMED, statusUrl(id), null, null, null, null, null,
                "the broker did not confirm the job; it may still run: poll statusUrl, or post the same job again",
                null, null, null);
    }

    /** From a status record: running, or failed with its reason. */
    static JobView of(String id, JobStatus status) {
        return new JobView(id, status.state(), statusUrl(id), null, null, null, null, null, status.reason(),
                status.violations(), status.retryable(), null);
    }

    /** From a result manifest, with {@code presign} turning an object key into a URL. */
    static JobView completed(Manifest manifest, Function<String, String> presign) {
        List<Image> images = manifest.images().stream()
                .map(i -> new Image(presign.apply(i.objectKey()), i.objectKey(), i.seed(), i.clipScore()))
                .toList();
        return new JobView(manifest.jobId(), COMPLETED, statusUrl(manifest.jobId()), manifest.model(), manifest.bucket(),
                images, manifest.seed(), manifest.completedAt(), null, null, null, manifest.metadata());
    }

    static String statusUrl(String id) {
        return "/v1/jobs/" + id;
    }
}
