package dev.easel.store;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The worker's object storage: where job images and result manifests are written, and the source
 * of truth for job status. Absence is a value ({@link Optional#empty()}, {@code false}); an
 * {@link IOException} means storage failed: a {@link PermanentStorageException} for good (missing
 * bucket, access denied), any other for now (network, timeout, throttling), worth retrying. Bucket names, keys and metadata that S3 would refuse are rejected with an
 * {@link IllegalArgumentException} before any request ({@link ObjectKeys}).
 */
public interface ObjectStore {

    /**
     * Writes an object whole, replacing any object at that key.
     *
     * @param metadata user metadata ({@code x-amz-meta-*}): keys of {@code a-z 0-9 -}, values of
     *                 printable ASCII, 2 KB in all
     */
    void put(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata)
            throws IOException;

    /**
     * Writes an object whole only if no object has that key: S3's conditional write
     * ({@code If-None-Match: *}), atomic where the store supports it, so of two writers at once
     * exactly one writes. A store that does not (it answers 501) gets a check, then a write, which
     * two writers at once can both pass.
     *
     * @return whether it was written; {@code false}: an object has that key, left as it was — which
     *         may be this very write's, stored though its answer was lost and found there by the
     *         client's retry: a caller that must know tells its own object by its content
     */
    boolean putIfAbsent(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata)
            throws IOException;

    /**
     * Reads an object whole.
     *
     * @return the object, or empty when no object has that key
     * @throws ObjectTooLargeException if the object is larger than {@code maxBytes}; it is not
     *                                 read past that
     */
    Optional<StoredObject> get(String bucket, String key, int maxBytes) throws IOException;

    /** Whether the bucket exists and the worker may use it (a bucket of another account reads as absent). */
    boolean bucketExists(String bucket) throws IOException;

    /** Whether an object has that key, without reading it. */
    boolean exists(String bucket, String key) throws IOException;

    /**
     * A URL anyone holding it can GET the object with, until {@code ttl} has passed. Signing is
     * local: nothing is sent, and the object need not exist yet; but the credentials it signs with
     * may need fetching first (a provider's refresh), which can fail.
     *
     * @param ttl more than zero, at most 7 days
     * @throws java.io.UncheckedIOException when the credentials to sign with cannot be had: a
     *         storage fault, which a job retries within its budget
     */
    URI presignGet(String bucket, String key, Duration ttl);
}
