package dev.easel.contract;

/**
 * Where a job's images are stored.
 *
 * @param bucket    S3 bucket name
 * @param keyPrefix prefix of the object keys ({@code ""} by default)
 * @param format    image format; {@code png} is the only one
 */
public record JobOutput(String bucket, String keyPrefix, String format) {
}
