package dev.easel.store;

import dev.easel.config.S3Config;
import dev.easel.contract.ObjectFetcher;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * {@link ObjectStore} and {@link ObjectFetcher} over the AWS SDK v2: any S3-compatible service
 * (AWS, MinIO, Ceph, R2, S3Proxy). The SDK's defaults stay in force for what they do well:
 * retries (3 attempts with backoff), request checksums on uploads and their validation on
 * downloads. The HTTP client is the JDK's {@code HttpURLConnection}, which needs no Netty or
 * Apache HttpClient and works in native images.
 */
public final class S3ObjectStore implements ObjectStore, ObjectFetcher, AutoCloseable {

    /** AWS Signature Version 4 refuses presigned URLs valid for longer. */
    static final Duration MAX_PRESIGN_TTL = Duration.ofDays(7);

    // Codes for "this object is not yours to read": the job's fault under ObjectFetcher's
    // contract. Wrong credentials answer 403 too, but with their own codes (SignatureDoesNotMatch,
    // InvalidAccessKeyId): the worker's fault, so they stay storage failures.
    private static final Set<String> NOT_READABLE = Set.of("NoSuchKey", "NoSuchBucket", "AccessDenied");

    private static final Logger LOG = Logger.getLogger(S3ObjectStore.class);

    // 4xx codes that a change on the worker's side (clock, credentials) mends, or that S3 asks to
    // retry (ConditionalRequestConflict, 409: a conditional write met another write of the key): not final.
    private static final Set<String> RETRYABLE_CLIENT_CODES = Set.of("RequestTimeTooSkewed", "InvalidAccessKeyId",
            "SignatureDoesNotMatch", "ExpiredToken", "RequestTimeout", "SlowDown", "RequestExpired",
            "ConditionalRequestConflict");

    private final S3Client s3;
    private final S3Presigner presigner;
    /** {@link #createBucketOnFirstUse}'s bucket until it is made; null when none is owed. */
    private final AtomicReference<String> bucketToCreate = new AtomicReference<>();
    /**
     * False once a conditional write was refused (501, or a 4xx) where the same write without the
     * header then succeeded: the store has none, and is not asked again until the worker restarts.
     */
    private final AtomicBoolean conditionalWrites = new AtomicBoolean(true);

    /** Over a client and a presigner configured alike; {@link #close()} closes both. */
    public S3ObjectStore(S3Client s3, S3Presigner presigner) {
        this.s3 = Objects.requireNonNull(s3, "s3");
        this.presigner = Objects.requireNonNull(presigner, "presigner");
    }

    /**
     * Builds the client and presigner from configuration.
     *
     * @throws IllegalArgumentException naming the key, if a setting is unusable
     */
    public static S3ObjectStore create(S3Config config) {
        Region region = Region.of(requireText(config.region(), "easel.s3.region"));
        config.endpoint().ifPresent(S3ObjectStore::checkEndpoint);
        checkPresignTtl(config.presignTtl(), "easel.s3.presign-ttl");
        checkPositive(config.connectTimeout(), "easel.s3.connect-timeout");
        checkPositive(config.attemptTimeout(), "easel.s3.attempt-timeout");
        checkPositive(config.callTimeout(), "easel.s3.call-timeout");
        AwsCredentialsProvider credentials = credentials(config);
        // The presigner needs path style through the service configuration; one object for both
        // keeps the URLs it signs the same shape as the client's requests.
        S3Configuration service = S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build();

        var client = S3Client.builder()
                .region(region)
                .credentialsProvider(credentials)
                .serviceConfiguration(service)
                // A builder, not a built client, so that closing the S3 client closes it too.
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(config.connectTimeout())
                        .socketTimeout(config.attemptTimeout()))
                .overrideConfiguration(o -> o
                        .apiCallAttemptTimeout(config.attemptTimeout())
                        .apiCallTimeout(config.callTimeout()));
        var presigner = S3Presigner.builder()
                .region(region)
                .credentialsProvider(credentials)
                .serviceConfiguration(service);
        config.endpoint().ifPresent(endpoint -> {
            client.endpointOverride(endpoint);
            presigner.endpointOverride(endpoint);
        });
        return new S3ObjectStore(client.build(), presigner.build());
    }

    private static AwsCredentialsProvider credentials(S3Config config) {
        Optional<String> accessKey = config.accessKey().filter(s -> !s.isBlank());
        Optional<String> secretKey = config.secretKey().filter(s -> !s.isBlank());
        if (accessKey.isPresent() != secretKey.isPresent()) {
            throw new IllegalArgumentException("easel.s3.access-key and easel.s3.secret-key: set both or neither (then"
                    + " the AWS default credentials chain applies), got only "
                    + (accessKey.isPresent() ? "access-key" : "secret-key"));
        }
        if (accessKey.isEmpty()) {
            return DefaultCredentialsProvider.builder().build();
        }
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey.get(), secretKey.get()));
    }

    private static void checkEndpoint(URI endpoint) {
        String scheme = endpoint.getScheme();
        if (!("http".equals(scheme) || "https".equals(scheme)) || endpoint.getHost() == null
                || endpoint.getRawQuery() != null || endpoint.getRawFragment() != null) {
            throw new IllegalArgumentException("easel.s3.endpoint: must be an http:// or https:// URL with a host and no"
                    + " query, got " + endpoint);
        }
    }

    private static void checkPresignTtl(Duration ttl, String name) {
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_PRESIGN_TTL) > 0) {
            throw new IllegalArgumentException(name + ": must be more than zero and at most 7 days (SigV4's limit), got "
                    + ttl);
        }
    }

    private static void checkPositive(Duration timeout, String name) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException(name + ": must be more than zero, got " + timeout);
        }
    }

    private static String requireText(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + ": must not be empty");
        }
        return value;
    }

    @Override
    public void put(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata)
            throws IOException {
        check(bucket, key);
        ensureBucket(bucket);
        requireText(contentType, "contentType");
        ObjectKeys.checkMetadata(metadata);
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType).metadata(metadata),
                    RequestBody.fromBytes(bytes));
        } catch (SdkException e) {
            throw failure("PUT", bucket, key, e);
        }
    }

    @Override
    public boolean putIfAbsent(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata)
            throws IOException {
        check(bucket, key);
        ensureBucket(bucket);
        requireText(contentType, "contentType");
        ObjectKeys.checkMetadata(metadata);
        if (!conditionalWrites.get()) {
            return putAfterCheck(bucket, key, bytes, contentType, metadata);
        }
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType).metadata(metadata).ifNoneMatch("*"),
                    RequestBody.fromBytes(bytes));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                return false;
            }
            if (!lacksConditionalWrites(e) && !isPermanent(e)) {
                throw failure("PUT (if none)", bucket, key, e); // for now: the job's budget retries it
            }
            // 501, or a refusal: a store without conditional writes, or one refusing this write
            // whatever its header. The plain write tells which, and throws its own failure if it fails.
            boolean written = putAfterCheck(bucket, key, bytes, contentType, metadata);
            if (written && conditionalWrites.getAndSet(false)) {
                LOG.warnf("the object store has no conditional writes (S3 PUT with If-None-Match: * answered"
                        + " HTTP %d%s, the same PUT without it succeeded); a job's result manifest is written after"
                        + " a check instead, and two runs of one job at once (on two workers, after a rebalance)"
                        + " may each store its own", e.statusCode(), code(e) == null ? "" : " " + code(e));
            }
            return written;
        } catch (SdkException e) {
            throw failure("PUT (if none)", bucket, key, e);
        }
    }

    /** The fallback: a check, then a write, which two writers at once can both pass. */
    private boolean putAfterCheck(String bucket, String key, byte[] bytes, String contentType,
                                  Map<String, String> metadata) throws IOException {
        if (exists(bucket, key)) {
            return false;
        }
        put(bucket, key, bytes, contentType, metadata);
        return true;
    }

    /** Whether conditional writes are still asked for: false once one failed where the plain write did not. */
    boolean hasConditionalWrites() {
        return conditionalWrites.get();
    }

    /** S3Proxy's backends without conditional writes and some other stores answer a conditional PUT 501 NotImplemented. */
    static boolean lacksConditionalWrites(S3Exception e) {
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        return e.statusCode() == 501 || "NotImplemented".equals(code);
    }

    @Override
    public Optional<StoredObject> get(String bucket, String key, int maxBytes) throws IOException {
        check(bucket, key);
        ensureBucket(bucket);
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes: must be ≥ 0, got " + maxBytes);
        }
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = s3.getObject(b -> b.bucket(bucket).key(key));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (SdkException e) {
            throw failure("GET", bucket, key, e);
        }
        try (in) {
            GetObjectResponse response = in.response();
            Long length = response.contentLength();
            if (length != null && length > maxBytes) {
                // abort() drops the connection rather than reading the rest of the body to reuse it.
                in.abort();
                throw tooLarge(bucket, key, maxBytes, length);
            }
            // The length header may be absent or wrong: read at most one byte past the limit to know.
            byte[] bytes = in.readNBytes(maxBytes == Integer.MAX_VALUE ? maxBytes : maxBytes + 1);
            if (bytes.length > maxBytes) {
                in.abort();
                throw tooLarge(bucket, key, maxBytes, null);
            }
            return Optional.of(new StoredObject(bytes, response.contentType(), response.metadata()));
        } catch (SdkException e) {
            // Checksum mismatches and timeouts surface while reading the body.
            throw failure("GET", bucket, key, e);
        }
    }

    private static ObjectTooLargeException tooLarge(String bucket, String key, int maxBytes, Long length) {
        return new ObjectTooLargeException(uri(bucket, key) + " is "
                + (length == null ? "more than the " + maxBytes + " bytes allowed"
                        : length + " bytes, more than the " + maxBytes + " allowed"));
    }

    @Override
    public boolean exists(String bucket, String key) throws IOException {
        check(bucket, key);
        ensureBucket(bucket);
        try {
            s3.headObject(b -> b.bucket(bucket).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            // A HEAD response has no body, so no error code: 404 is all S3 says about a missing key.
            if (e.statusCode() == 404) {
                return false;
            }
            if (e.statusCode() >= 400 && e.statusCode() < 500 && !hasCode(e)) {
                // A 403 without a code may be credentials or a clock an operator is mending
                // (retried) or a missing key without s3:ListBucket (AccessDenied): a GET says which.
                return existsByGet(bucket, key);
            }
            throw failure("HEAD", bucket, key, e);
        } catch (SdkException e) {
            throw failure("HEAD", bucket, key, e);
        }
    }

    /** bucketExists() by a listing of at most one key, whose error answer carries a code. */
    private boolean bucketExistsByListing(String bucket) throws IOException {
        try {
            s3.listObjectsV2(b -> b.bucket(bucket).maxKeys(1));
            return true;
        } catch (NoSuchBucketException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404 || e.statusCode() == 403 && NOT_READABLE.contains(code(e))) {
                return false; // missing, or not the worker's to use
            }
            throw failure("LIST", bucket, "", e);
        } catch (SdkException e) {
            throw failure("LIST", bucket, "", e);
        }
    }

    private static String code(S3Exception e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    /** exists() by a one-byte GET, whose error answer carries the code a HEAD's cannot. */
    private boolean existsByGet(String bucket, String key) throws IOException {
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key).range("bytes=0-0"))) {
            in.abort();
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            if (e.statusCode() == 416) {
                return true; // an empty object has no byte 0
            }
            throw failure("GET", bucket, key, e);
        } catch (SdkException e) {
            throw failure("GET", bucket, key, e);
        }
    }

    private static boolean hasCode(S3Exception e) {
        String code = code(e);
        return code != null && !code.isBlank();
    }

    @Override
    public URI presignGet(String bucket, String key, Duration ttl) {
        check(bucket, key);
        checkPresignTtl(ttl, "ttl");
        try {
            return presigner.presignGetObject(p -> p.signatureDuration(ttl).getObjectRequest(g -> g.bucket(bucket).key(key)))
                    .url().toURI();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("the SDK presigned an invalid URL for " + uri(bucket, key), e);
        } catch (SdkException e) {
            throw new java.io.UncheckedIOException(failure("presign", bucket, key, e));
        }
    }

    /**
     * Opens a user's input image. A key or bucket that is missing, malformed or forbidden is the
     * job's fault ({@link NotFoundException}); anything else, wrong worker credentials included,
     * is a storage failure.
     */
    @Override
    public InputStream open(String bucket, String key) throws IOException {
        try {
            check(bucket, key);
        } catch (IllegalArgumentException e) {
            throw new NotFoundException("not a valid object reference: " + e.getMessage());
        }
        ensureBucket(bucket);
        try {
            return readFailuresAsIo(s3.getObject(b -> b.bucket(bucket).key(key)), bucket, key);
        } catch (NoSuchKeyException | NoSuchBucketException e) {
            throw new NotFoundException(uri(bucket, key) + " does not exist");
        } catch (S3Exception e) {
            if (e.awsErrorDetails() != null && NOT_READABLE.contains(e.awsErrorDetails().errorCode())) {
                throw new NotFoundException(uri(bucket, key) + " may not be read by the worker ("
                        + e.awsErrorDetails().errorCode() + ")");
            }
            throw failure("GET", bucket, key, e);
        } catch (SdkException e) {
            throw failure("GET", bucket, key, e);
        }
    }

    /**
     * The body, whose read failures (a checksum mismatch, a connection reset) the SDK throws
     * unchecked, as the storage errors they are: retried by the job's budget like any other, not
     * escaping it as an "internal error".
     */
    static InputStream readFailuresAsIo(InputStream body, String bucket, String key) {
        return new java.io.FilterInputStream(body) {
            @Override
            public int read() throws IOException {
                try {
                    return super.read();
                } catch (SdkException e) {
                    throw failure("GET", bucket, key, e);
                }
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    return super.read(b, off, len);
                } catch (SdkException e) {
                    throw failure("GET", bucket, key, e);
                }
            }
        };
    }

    @Override
    public boolean bucketExists(String bucket) throws IOException {
        ObjectKeys.checkBucket(bucket);
        ensureBucket(bucket);
        try {
            s3.headBucket(b -> b.bucket(bucket));
            return true;
        } catch (NoSuchBucketException e) {
            return false;
        } catch (S3Exception e) {
            // HEAD has no body: 404 is all S3 says of a missing bucket. A 403 is a bucket not ours,
            // or the worker's own credentials or clock being off, which a listing's code tells apart.
            if (e.statusCode() == 404) {
                return false;
            }
            if (e.statusCode() == 403 && !hasCode(e)) {
                return bucketExistsByListing(bucket);
            }
            throw failure("HEAD bucket", bucket, "", e);
        } catch (SdkException e) {
            throw failure("HEAD bucket", bucket, "", e);
        }
    }

    /**
     * Makes {@code bucket} (unless it exists) before the first call that names it: for
     * {@code easel.s3.create-bucket} when the store could not be reached at start-up. A worker
     * that starts while the store is away must still start; its jobs then meet the store's
     * absence in their own calls, and retry them as any other storage outage.
     */
    public void createBucketOnFirstUse(String bucket) {
        ObjectKeys.checkBucket(bucket);
        bucketToCreate.set(bucket);
    }

    private void ensureBucket(String bucket) throws IOException {
        String owed = bucketToCreate.get();
        if (owed != null && owed.equals(bucket)) {
            // Idempotent: callers racing here all succeed (BucketAlreadyOwnedByYou is success).
            createBucketIfMissing(bucket);
            bucketToCreate.compareAndSet(owed, null);
        }
    }

    /**
     * Creates the bucket unless it exists; for the local stack ({@code easel.s3.create-bucket}).
     */
    public void createBucketIfMissing(String bucket) throws IOException {
        ObjectKeys.checkBucket(bucket);
        try {
            s3.headBucket(b -> b.bucket(bucket));
            return;
        } catch (NoSuchBucketException e) {
            // Create it below.
        } catch (SdkException e) {
            throw failure("HEAD bucket", bucket, "", e);
        }
        try {
            s3.createBucket(b -> b.bucket(bucket));
        } catch (BucketAlreadyOwnedByYouException e) {
            // Another worker created it in between: what we wanted.
        } catch (SdkException e) {
            throw failure("CREATE bucket", bucket, "", e);
        }
    }

    @Override
    public void close() {
        try (presigner) {
            s3.close();
        }
    }

    private static void check(String bucket, String key) {
        ObjectKeys.checkBucket(bucket);
        ObjectKeys.checkKey(key);
    }

    /**
     * One message with what was asked, and what S3 (or the network) answered; a
     * {@link PermanentStorageException} when S3 refused the request for good.
     */
    private static IOException failure(String operation, String bucket, String key, SdkException e) {
        String answer;
        boolean permanent = e instanceof S3Exception s3 && isPermanent(s3);
        if (e instanceof S3Exception s3e) {
            var details = s3e.awsErrorDetails();
            String code = details == null ? null : details.errorCode();
            String message = details == null ? null : details.errorMessage();
            answer = "HTTP " + s3e.statusCode() + (code == null ? "" : " " + code)
                    + (message == null ? "" : ": " + message)
                    + (s3e.requestId() == null ? "" : " (request id " + s3e.requestId() + ")");
        } else {
            answer = e.getMessage();
        }
        String message = "S3 " + operation + " " + uri(bucket, key) + " failed: " + answer;
        return permanent ? new PermanentStorageException(message, e) : new IOException(message, e);
    }

    /**
     * A 4xx answer is the request's fault and stays so, except: timeouts and throttling (408, 429),
     * and the codes of a worker whose clock or credentials are off, which an operator mends while
     * jobs wait.
     */
    static boolean isPermanent(S3Exception e) {
        int status = e.statusCode();
        if (status < 400 || status >= 500 || status == 408 || status == 429) {
            return false;
        }
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        return code == null || !RETRYABLE_CLIENT_CODES.contains(code);
    }

    private static String uri(String bucket, String key) {
        return "s3://" + bucket + "/" + key;
    }
}
