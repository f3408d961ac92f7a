package dev.easel.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.contract.ObjectFetcher;
import dev.easel.testing.S3Configs;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Building from configuration, and what needs no server: checks before requests, presigning. */
class S3ObjectStoreTest {

    private static final Map<String, String> LOCAL = Map.of(
            "easel.s3.endpoint", "http://127.0.0.1:9",
            "easel.s3.access-key", "easel-dev",
            "easel.s3.secret-key", "easel-dev-secret");

    private static S3ObjectStore store(Map<String, String> overrides) {
        Map<String, String> properties = new HashMap<>(LOCAL);
        properties.putAll(overrides);
        return S3ObjectStore.create(S3Configs.load(properties));
    }

    @Test
    void presignedUrlIsPathStyleAndCarriesItsLifetime() {
        try (S3ObjectStore store = store(Map.of())) {
            URI url = store.presignGet("easel-images", "acme/j1/0.png", Duration.ofMinutes(15));

            assertThat(url.getScheme() + "://" + url.getAuthority() + url.getPath())
                    .isEqualTo("http://127.0.0.1:9/easel-images/acme/j1/0.png");
            assertThat(url.getQuery())
                    .contains("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Expires=900", "X-Amz-Signature=",
                            "X-Amz-Credential=easel-dev/");
        }
    }

    @Test
    void virtualHostedStyleWhenPathStyleIsOff() {
        try (S3ObjectStore store = store(Map.of("easel.s3.endpoint", "https://s3.example.com", "easel.s3.path-style", "false"))) {
            URI url = store.presignGet("easel-images", "j1/0.png", Duration.ofHours(1));
            assertThat(url.getHost()).isEqualTo("easel-images.s3.example.com");
            assertThat(url.getPath()).isEqualTo("/j1/0.png");
        }
    }

    @Test
    void presignTtlIsBoundedBySigV4() {
        try (S3ObjectStore store = store(Map.of())) {
            assertThat(store.presignGet("easel-images", "k", Duration.ofDays(7)).getQuery()).contains("X-Amz-Expires=604800");
            assertThatThrownBy(() -> store.presignGet("easel-images", "k", Duration.ofDays(7).plusSeconds(1)))
                    .hasMessageStartingWith("ttl: must be more than zero and at most 7 days");
            assertThatThrownBy(() -> store.presignGet("easel-images", "k", Duration.ZERO))
                    .hasMessageStartingWith("ttl: must be more than zero");
        }
        assertThatThrownBy(() -> store(Map.of("easel.s3.presign-ttl", "8d")))
                .hasMessageStartingWith("easel.s3.presign-ttl: must be more than zero and at most 7 days");
    }

    @Test
    void credentialsComeInPairs() {
        assertThatThrownBy(() -> S3ObjectStore.create(S3Configs.load(Map.of("easel.s3.access-key", "AKIAEXAMPLE"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("easel.s3.access-key and easel.s3.secret-key: set both or neither")
                .hasMessageEndingWith("got only access-key");
        // Neither: the default chain, resolved only when a request is signed.
        try (S3ObjectStore store = S3ObjectStore.create(S3Configs.load(Map.of()))) {
            assertThat(store).isNotNull();
        }
    }

    @Test
    void badSettingsNameTheirKey() {
        assertThatThrownBy(() -> store(Map.of("easel.s3.endpoint", "ftp://example.com")))
                .hasMessageStartingWith("easel.s3.endpoint: must be an http:// or https:// URL");
        assertThatThrownBy(() -> store(Map.of("easel.s3.call-timeout", "0s")))
                .hasMessage("easel.s3.call-timeout: must be more than zero, got PT0S");
        assertThatThrownBy(() -> store(Map.of("easel.s3.region", " ")))
                .hasMessage("easel.s3.region: must not be empty");
    }

    @Test
    void badNamesFailBeforeAnyRequest() {
        // The endpoint (port 9, discard) would fail any request: these fail on the name first.
        try (S3ObjectStore store = store(Map.of())) {
            assertThatThrownBy(() -> store.put("easel-images", "a//b", new byte[1], "image/png", Map.of()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("key:");
            assertThatThrownBy(() -> store.get("Bad_Bucket", "k", 10))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("bucket:");
            assertThatThrownBy(() -> store.put("easel-images", "k", new byte[1], "image/png", Map.of("X", "1")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("metadata key:");
            // Through ObjectFetcher a bad reference is the job's fault, not an exception of the worker's.
            assertThatThrownBy(() -> store.open("easel-images", "/etc/passwd"))
                    .isInstanceOf(ObjectFetcher.NotFoundException.class)
                    .hasMessageStartingWith("not a valid object reference: key:");
        }
    }

    /** A body whose read fails inside the SDK (a checksum mismatch) fails as a storage error, which the job's budget retries. */
    @Test
    void aBodysReadFailureIsAStorageError() {
        java.io.InputStream failing = new java.io.InputStream() {
            @Override
            public int read() {
                throw software.amazon.awssdk.core.exception.SdkClientException.create("checksum mismatch (test)");
            }
        };
        java.io.InputStream body = S3ObjectStore.readFailuresAsIo(failing, "bucket", "uploads/park.png");

        assertThatThrownBy(body::read).isExactlyInstanceOf(java.io.IOException.class)
                .hasMessageStartingWith("S3 GET s3://bucket/uploads/park.png failed");
        assertThatThrownBy(() -> body.read(new byte[8], 0, 8)).isExactlyInstanceOf(java.io.IOException.class);
    }
    /**
     * A store without conditional writes (it answers 501, as S3Proxy's other backends do) is asked
     * once, then written after a check; 412 is "there already".
     */
    @Test
    void aStoreWithoutConditionalWritesIsWrittenAfterACheck() throws Exception {
        try (FakeS3 s3 = new FakeS3(501, "NotImplemented", 200); S3ObjectStore store = store(s3.endpoint())) {
            assertThat(store.putIfAbsent("bucket", "p/j1/result.json", MANIFEST, "application/json", Map.of())).isTrue();
            assertThat(s3.objects).containsKey("/bucket/p/j1/result.json");
            assertThat(store.putIfAbsent("bucket", "p/j1/result.json", MANIFEST, "application/json", Map.of())).isFalse();
            assertThat(store.putIfAbsent("bucket", "p/j2/result.json", MANIFEST, "application/json", Map.of())).isTrue();
            assertThat(s3.conditional).as("asked with If-None-Match once, not on every write").hasValue(1);
            assertThat(store.hasConditionalWrites()).isFalse();
        }
    }

    /** A gateway that refuses the header (400) but takes the write without it: written after a check, as on 501. */
    @Test
    void aStoreRefusingTheHeaderWith400IsWrittenAfterACheck() throws Exception {
        try (FakeS3 s3 = new FakeS3(400, "InvalidArgument", 200); S3ObjectStore store = store(s3.endpoint())) {
            assertThat(store.putIfAbsent("bucket", "p/j1/result.json", MANIFEST, "application/json", Map.of())).isTrue();
            assertThat(store.putIfAbsent("bucket", "p/j1/result.json", MANIFEST, "application/json", Map.of())).isFalse();
            assertThat(s3.conditional).hasValue(1);
        }
    }

    /** A store refusing every write (403): the plain write's refusal is the answer, and conditional writes stay on. */
    @Test
    void aStoreRefusingEveryWriteFailsForGoodAndKeepsConditionalWrites() throws Exception {
        try (FakeS3 s3 = new FakeS3(403, "AccessDenied", 403); S3ObjectStore store = store(s3.endpoint())) {
            assertThatThrownBy(() -> store.putIfAbsent("bucket", "p/j1/result.json", MANIFEST, "application/json",
                    Map.of())).isInstanceOf(PermanentStorageException.class).hasMessageContaining("S3 PUT s3://bucket/p/j1");
            assertThat(store.hasConditionalWrites()).isTrue();
        }
    }

    private static final byte[] MANIFEST = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private static S3ObjectStore store(String endpoint) {
        return store(Map.of("easel.s3.endpoint", endpoint));
    }

    /**
     * A minimal S3 over the JDK's HTTP server: PUT with If-None-Match answers {@code conditional}
     * (an S3 error with {@code code}), PUT without it {@code plain} (200 stores the object), HEAD 200 or 404.
     */
    private static final class FakeS3 implements AutoCloseable {
        final Map<String, byte[]> objects = new java.util.concurrent.ConcurrentHashMap<>();
        final java.util.concurrent.atomic.AtomicInteger conditional = new java.util.concurrent.atomic.AtomicInteger();
        private final com.sun.net.httpserver.HttpServer server;

        FakeS3(int conditionalStatus, String code, int plainStatus) throws java.io.IOException {
            server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", exchange -> {
                String path = exchange.getRequestURI().getPath();
                byte[] body = exchange.getRequestBody().readAllBytes();
                String method = exchange.getRequestMethod();
                if (method.equals("PUT") && exchange.getRequestHeaders().containsKey("If-None-Match")) {
                    conditional.incrementAndGet();
                    error(exchange, conditionalStatus, code);
                } else if (method.equals("PUT") && plainStatus != 200) {
                    error(exchange, plainStatus, code);
                } else if (method.equals("PUT")) {
                    objects.put(path, body);
                    exchange.getResponseHeaders().add("ETag", "\"e\"");
                    exchange.sendResponseHeaders(200, -1);
                } else if (method.equals("HEAD")) {
                    exchange.getResponseHeaders().add("Content-Length", "0");
                    exchange.sendResponseHeaders(objects.containsKey(path) ? 200 : 404, -1);
                } else {
                    exchange.sendResponseHeaders(405, -1);
                }
                exchange.close();
            });
            server.start();
        }

        private static void error(com.sun.net.httpserver.HttpExchange exchange, int status, String code)
                throws java.io.IOException {
            byte[] error = ("<Error><Code>" + code + "</Code><Message>refused (test)</Message></Error>")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, error.length);
            exchange.getResponseBody().write(error);
        }

        String endpoint() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    @Test
    void aConditionalWritesConflictIsRetriedAndItsNotImplementedIsKnown() {
        assertThat(S3ObjectStore.isPermanent(s3Error(409, "ConditionalRequestConflict"))).isFalse();
        assertThat(S3ObjectStore.isPermanent(s3Error(409, "BucketAlreadyExists"))).isTrue();
        assertThat(S3ObjectStore.lacksConditionalWrites(s3Error(501, "NotImplemented"))).isTrue();
        assertThat(S3ObjectStore.lacksConditionalWrites(s3Error(400, "NotImplemented"))).isTrue();
        assertThat(S3ObjectStore.lacksConditionalWrites(s3Error(403, "AccessDenied"))).isFalse();
    }

    private static software.amazon.awssdk.services.s3.model.S3Exception s3Error(int status, String code) {
        return (software.amazon.awssdk.services.s3.model.S3Exception) software.amazon.awssdk.services.s3.model.S3Exception
                .builder().statusCode(status)
                .awsErrorDetails(software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder().errorCode(code).build())
                .build();
    }
}
