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
 * @param completedAt when the manifest was written (ISO-8601, UTC)
 */
public record Manifest(String jobId, String model, String bucket, List<StoredImage> images, long seed, boolean seedChosen,
                String scheduler, Map<String, Long> timingsMs, JsonNode metadata, String completedAt) {

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
