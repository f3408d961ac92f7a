package dev.easel.api;

/**
 * Where an HTTP-submitted job's objects are: {@code ~jobs/{id}.json} in the default bucket
 * ({@link dev.easel.contract.JobKeys#pointer}). Jobs may name their own bucket and prefix, so the
 * status endpoint needs this to find them; its presence without a status record means queued.
 *
 * @param submittedAt ISO-8601, UTC
 */
record JobPointer(String id, String bucket, String keyPrefix, String submittedAt) {
}
