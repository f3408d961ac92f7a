package dev.easel.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Where an HTTP-submitted job's objects are: {@code ~jobs/{id}.json} in the default bucket
 * ({@link dev.easel.contract.JobKeys#pointer}). Jobs may name their own bucket and prefix, so the
 * status endpoint needs this to find them; its presence without a status record means queued.
 * Written before the job is put on Kafka (so a queued job always has one); a submission the broker
 * did not take rewrites it as {@value #NOT_QUEUED}.
 *
 * @param submittedAt ISO-8601, UTC
 * @param digest      the job's digest (dev.easel.contract.JobParser#digest): a re-submission
 *                    with another job under this id is refused; null in pointers of older workers
 * @param state       null once submitted, {@value #NOT_QUEUED} when the broker did not take it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record JobPointer(String id, String bucket, String keyPrefix, String submittedAt, String digest, String state) {

    static final String NOT_QUEUED = "not_queued";

    boolean queued() {
        return !NOT_QUEUED.equals(state);
    }
}
