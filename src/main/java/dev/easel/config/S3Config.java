package dev.easel.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * Object storage settings, keys under {@code easel.s3.*}. Quarkus reads each key from the
 * environment too, upper-cased with {@code .} and {@code -} turned into {@code _}:
 * {@code EASEL_S3_ENDPOINT}, {@code EASEL_S3_ACCESS_KEY}, {@code EASEL_S3_SECRET_KEY},
 * {@code EASEL_S3_REGION} (what the local stack prints), {@code EASEL_S3_CREATE_BUCKET}, ….
 * Durations take Quarkus' forms: {@code 10s}, {@code 500ms}, {@code PT1H}.
 * {@code dev.easel.store.S3ObjectStore#create} checks the values.
 */
@ConfigMapping(prefix = "easel.s3")
public interface S3Config {

    /**
     * {@code easel.s3.endpoint}: the S3 API endpoint, {@code http://} or {@code https://}, for
     * MinIO, Ceph, R2 or the local S3Proxy. Default: none, so the AWS endpoint of {@code region}.
     */
    Optional<URI> endpoint();

    /** {@code easel.s3.region}: the region requests are signed for. Default {@code us-east-1}. */
    @WithDefault("us-east-1")
    String region();

    /**
     * {@code easel.s3.access-key}: the access key id. Set together with {@code secret-key}, or
     * neither: then the AWS default credentials chain applies (environment, web identity for
     * Kubernetes service accounts, instance profile, …).
     */
    Optional<String> accessKey();

    /** {@code easel.s3.secret-key}: the secret access key, with {@code access-key}. Never in the image. */
    Optional<String> secretKey();

    /**
     * {@code easel.s3.path-style}: address buckets as {@code endpoint/bucket/key} rather than
     * {@code bucket.endpoint/key}. S3Proxy and most MinIO setups need it; AWS works either way.
     * Default true.
     */
    @WithDefault("true")
    boolean pathStyle();

    /**
     * {@code easel.s3.bucket}: the bucket for jobs that name no {@code output.bucket}, and for
     * result manifests looked up by job id. Default {@code easel-images}.
     */
    @WithDefault("easel-images")
    String bucket();

    /**
     * {@code easel.s3.create-bucket}: create {@code bucket} at startup when it is missing. For
     * the local stack; production buckets are provisioned with their policies. Default false.
     */
    @WithDefault("false")
    boolean createBucket();

    /**
     * {@code easel.s3.presign-ttl}: how long the presigned GET URLs in completion events stay
     * valid; at most 7 days (the limit of AWS Signature Version 4). Default 1h.
     */
    @WithDefault("1h")
    Duration presignTtl();

    /** {@code easel.s3.connect-timeout}: the TCP (and TLS) connect timeout. Default 5s. */
    @WithDefault("5s")
    Duration connectTimeout();

    /**
     * {@code easel.s3.attempt-timeout}: the most one HTTP attempt may take, body included; also
     * the socket read timeout. Default 30s.
     */
    @WithDefault("30s")
    Duration attemptTimeout();

    /**
     * {@code easel.s3.call-timeout}: the most one store operation may take, the SDK's retries
     * (3 attempts, backoff) included. Default 90s.
     */
    @WithDefault("90s")
    Duration callTimeout();
}
