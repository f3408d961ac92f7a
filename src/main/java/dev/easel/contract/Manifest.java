package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A completed job's result record, {@code result.json} under the job's prefix
 * ({@link dev.easel.contract.JobKeys#manifest()}). Written after every image, so its presence means
 * the job is complete: a redelivered job re-publishes its completion from it instead of running
 * again.
 *
 * @param jobId       the job
 * @param model       the model that ran
 * @param bucket      where the images are
 * @param images      object keys and seeds, in the job's order
 * @param seed        the seed of image 0
 * @param seedChosen  whether the worker chose the seed (the job had none)
 * @param scheduler   the scheduler that ran
 * @param timingsMs   the original run's phases, as in the completed event
 * @param metadata    the job's {@code metadata}, echoed; null when it had none
 * @param completedAt when the manifest was written (ISO-8601, UTC); also the completed event's time
 * @param jobDigest   the SHA-256 of the job as run (hex, of its contract JSON), so a re-submission of
 *                    the same id with another job is told apart; null in manifests of older workers
 * @param answer      the completed event as first published, so that every republication is
 *                    byte-identical; null in manifests of older workers
 * @param tenant      whose job it is: tenants granted one output prefix store their jobs under the
 *                    same keys, and another tenant's result is never this tenant's answer; null in
 *                    manifests of older workers
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
// A field a later version adds must not make this version's readers fail (answering a redelivery, GET).
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(String jobId, String model, String bucket, List<StoredImage> images, long seed, boolean seedChosen,
                String scheduler, Map<String, Long> timingsMs, JsonNode metadata, String completedAt, String jobDigest,
                Answer answer, String tenant) {

    /** This manifest with its completed event (one of an older worker, which stored none, gets one made). */
    public Manifest withAnswer(Answer value) {
        return new Manifest(jobId, model, bucket, images, seed, seedChosen, scheduler, timingsMs, metadata, completedAt,
                jobDigest, value, tenant);
    }

    /** Whether this can be the result of a job of {@code tenantId}: its own, or written before manifests named their tenant. */
    public boolean isOf(String tenantId) {
        return tenant == null || tenant.equals(tenantId);
    }

    /**
     * Whether this can be the result of job {@code id} stored in {@code bucket} under {@code keys}:
     * the same job id and bucket, and every image under the job's own prefix. A manifest is read from
     * wherever the job's output points, which may be a bucket its tenant can write itself; the worker
     * presigns what a manifest names with its own credentials, so one naming another bucket or key
     * (another tenant's images) is not an answer but a forgery, and is not trusted.
     */
    public boolean isFor(String id, String bucket, JobKeys keys) {
        return id.equals(jobId) && bucket.equals(this.bucket) && images != null
                && images.stream().allMatch(i -> i != null && i.objectKey() != null
                        && i.objectKey().startsWith(keys.toString()));
    }

    /**
     * The completed event's CloudEvent attributes that are not derived from the manifest, and its data.
     *
     * @param eventId the CloudEvent {@code id} (and the webhook's {@code webhook-id} is derived from it)
     * @param source  the CloudEvent {@code source}: the worker that completed the job
     * @param data    the event's {@code data}, presigned URLs included
     */
    public record Answer(String eventId, String source, JsonNode data) {
    }

    /**
     * One stored image and the seed that reproduces it.
     *
     * @param clipScore the image's CLIP score when the job used CLIP, else null (and absent in JSON)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StoredImage(String objectKey, long seed, Double clipScore) {

        public StoredImage(String objectKey, long seed) {
            this(objectKey, seed, null);
        }
    }
}
