package dev.easel.store;

import dev.easel.contract.JobKeys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.devstack.LocalStack;
import dev.easel.contract.ObjectFetcher;
import dev.easel.testing.S3Configs;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link S3ObjectStore} against S3Proxy with signatures checked, as the worker will use it. */
class S3ObjectStoreIT {

    private static final String BUCKET = "easel-it";

    private static LocalStack stack;
    private static S3ObjectStore store;

    @BeforeAll
    static void start() throws IOException {
        // Under target/, not a JUnit temp dir: the servers' logs stay for a look after a failure.
        Path dir = Files.createTempDirectory(Path.of("target"), "devstack-it-");
        stack = LocalStack.start(dir);
        store = S3ObjectStore.create(config(stack.s3SecretKey()));
        store.createBucketIfMissing(BUCKET);
        store.createBucketIfMissing(BUCKET); // idempotent, as every worker replica runs it
    }

    @AfterAll
    static void stop() {
        if (store != null) {
            store.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** The configuration the worker gets from the variables the stack prints. */
    private static dev.easel.config.S3Config config(String secretKey) {
        Map<String, String> env = new HashMap<>(stack.workerEnvironment());
        env.put("EASEL_S3_SECRET_KEY", secretKey);
        return S3Configs.load(Map.of(), env);
    }

    @Test
    void putGetExistsRoundTrip() throws IOException {
        byte[] png = randomBytes(5000, 1);
        Map<String, String> metadata = Map.of("seed", "42", "job-id", "order-1234.variant_a");
        JobKeys keys = JobKeys.of("acme/2030/", "order-1234.variant_a");

        assertThat(store.exists(BUCKET, keys.image(0))).isFalse();
        store.put(BUCKET, keys.image(0), png, "image/png", metadata);

        assertThat(store.exists(BUCKET, keys.image(0))).isTrue();
        StoredObject read = store.get(BUCKET, keys.image(0), png.length).orElseThrow();
        assertThat(read.bytes()).isEqualTo(png);
        assertThat(read.contentType()).isEqualTo("image/png");
        assertThat(read.metadata()).isEqualTo(metadata);

        // A put replaces the object whole.
        byte[] manifest = "{\"status\":\"completed\"}".getBytes(StandardCharsets.UTF_8);
        store.put(BUCKET, keys.manifest(), manifest, "application/json", Map.of());
        store.put(BUCKET, keys.manifest(), Arrays.copyOf(manifest, 3), "application/json", Map.of());
        assertThat(store.get(BUCKET, keys.manifest(), 100).orElseThrow().bytes()).isEqualTo(Arrays.copyOf(manifest, 3));
    }

    /** S3Proxy's filesystem store, like S3, takes If-None-Match: *: of many writers at once exactly one writes. */
    @Test
    void aConditionalPutWritesOnceWhateverTheRace() throws Exception {
        JobKeys keys = JobKeys.of("race/", "job-1");
        assertThat(store.putIfAbsent(BUCKET, keys.manifest(), bytes("first"), "application/json", Map.of("job-id", "job-1")))
                .isTrue();
        assertThat(store.putIfAbsent(BUCKET, keys.manifest(), bytes("second"), "application/json", Map.of())).isFalse();
        assertThat(store.get(BUCKET, keys.manifest(), 100).orElseThrow().bytes()).isEqualTo(bytes("first"));

        int writers = 8;
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(writers);
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            for (int round = 0; round < 10; round++) {
                race(JobKeys.of("race/", "job-" + (round + 2)).manifest(), start, threads);
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(store.hasConditionalWrites()).as("S3Proxy's own If-None-Match, not the check-then-write fallback")
                .isTrue();
    }

    /**
     * Every writer at once, each with its own bytes: at most one is told it wrote, and the object is
     * one writer's whole, the one told so if any. None may be told: a write that was stored but
     * whose answer was lost (an attempt timed out on the loaded machine) is sent again by the S3
     * client, and the retry finds the object there — the writer's own, which it tells by its
     * content (JobRunner: by the completed event in it). Seen once in CI, 2026-12-07 17:02.
     */
    private static void race(String key, java.util.concurrent.CyclicBarrier start,
                             java.util.concurrent.ExecutorService threads) throws Exception {
        int writers = start.getParties();
        java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
        for (int i = 0; i < writers; i++) {
            byte[] body = bytes("writer " + i);
            results.add(threads.submit(() -> {
                start.await();
                return store.putIfAbsent(BUCKET, key, body, "application/json", Map.of());
            }));
        }
        int won = -1;
        for (int i = 0; i < writers; i++) {
            if (results.get(i).get()) {
                assertThat(won).as("a second writer was told it wrote").isEqualTo(-1);
                won = i;
            }
        }
        String stored = new String(store.get(BUCKET, key, 100).orElseThrow().bytes(), StandardCharsets.UTF_8);
        if (won >= 0) {
            assertThat(stored).isEqualTo("writer " + won);
        } else {
            assertThat(stored).matches("writer [0-" + (writers - 1) + "]");
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void anOwedBucketIsMadeByTheFirstCallThatNamesIt() throws IOException {
        // easel.s3.create-bucket when the store was away at start-up (S3ObjectStoreProducer).
        try (S3ObjectStore late = S3ObjectStore.create(config(stack.s3SecretKey()))) {
            late.createBucketOnFirstUse("easel-owed");
            assertThat(store.bucketExists("easel-owed")).isFalse();
            assertThat(late.bucketExists("other-bucket")).isFalse(); // another bucket: not made
            assertThat(late.bucketExists("easel-owed")).isTrue();
            late.put("easel-owed", "a/b.png", randomBytes(10, 3), "image/png", Map.of());
            assertThat(store.exists("easel-owed", "a/b.png")).isTrue();
        }
        try (S3ObjectStore late = S3ObjectStore.create(config(stack.s3SecretKey()))) {
            late.createBucketOnFirstUse("easel-owed-put");
            late.put("easel-owed-put", "k", randomBytes(10, 4), "image/png", Map.of());
            assertThat(store.get("easel-owed-put", "k", 100)).isPresent();
        }
    }

    @Test
    void missingObjectIsEmpty() throws IOException {
        assertThat(store.get(BUCKET, "no/such/key.png", 100)).isEmpty();
        assertThat(store.exists(BUCKET, "no/such/key.png")).isFalse();
    }

    @Test
    void missingBucketIsAStorageFailureForGet() {
        assertThatThrownBy(() -> store.get("no-such-bucket", "k", 100))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("S3 GET s3://no-such-bucket/k failed: HTTP 404 NoSuchBucket");
    }

    @Test
    void boundedGetRefusesAnOversizedObject() throws IOException {
        store.put(BUCKET, "bounded/1000.bin", randomBytes(1000, 2), "application/octet-stream", Map.of());

        assertThat(store.get(BUCKET, "bounded/1000.bin", 1000)).get().extracting(o -> o.bytes().length).isEqualTo(1000);
        assertThatThrownBy(() -> store.get(BUCKET, "bounded/1000.bin", 999))
                .isInstanceOf(ObjectTooLargeException.class)
                .hasMessage("s3://easel-it/bounded/1000.bin is 1000 bytes, more than the 999 allowed");
        // The aborted connection does not disturb the next call.
        assertThat(store.exists(BUCKET, "bounded/1000.bin")).isTrue();
    }

    @Test
    void presignedUrlServesTheObjectUntilItExpires() throws IOException, InterruptedException {
        byte[] png = randomBytes(3000, 3);
        store.put(BUCKET, "presigned/0.png", png, "image/png", Map.of());
        HttpClient http = HttpClient.newHttpClient();

        URI url = store.presignGet(BUCKET, "presigned/0.png", Duration.ofMinutes(5));
        HttpResponse<byte[]> ok = http.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo(png);
        assertThat(ok.headers().firstValue("Content-Type")).contains("image/png");

        // A tampered URL (another key, same signature) is refused.
        URI other = URI.create(url.toString().replace("presigned/0.png", "presigned/1.png"));
        assertThat(http.send(HttpRequest.newBuilder(other).build(), HttpResponse.BodyHandlers.discarding()).statusCode())
                .isEqualTo(403);

        URI shortLived = store.presignGet(BUCKET, "presigned/0.png", Duration.ofSeconds(1));
        assertThat(shortLived.getQuery()).contains("X-Amz-Expires=1");
        Thread.sleep(2500);
        HttpResponse<String> expired = http.send(HttpRequest.newBuilder(shortLived).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(expired.statusCode()).isEqualTo(403);
    }

    @Test
    void wrongCredentialsAreAStorageErrorNotAMissingObject() throws IOException {
        store.put(BUCKET, "creds/0.png", new byte[10], "image/png", Map.of());
        try (S3ObjectStore wrong = S3ObjectStore.create(config("not-" + stack.s3SecretKey()))) {
            assertThatThrownBy(() -> wrong.put(BUCKET, "creds/1.png", new byte[10], "image/png", Map.of()))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("S3 PUT s3://easel-it/creds/1.png failed: HTTP 403");
            assertThatThrownBy(() -> wrong.get(BUCKET, "creds/0.png", 100))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("S3 GET s3://easel-it/creds/0.png failed: HTTP 403");
            // Misconfigured worker credentials must not be blamed on the job's image reference.
            assertThatThrownBy(() -> wrong.open(BUCKET, "creds/0.png"))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("S3 GET s3://easel-it/creds/0.png failed: HTTP 403");
            // Every job's first call is a HEAD, whose 403 has no code: not "missing", not final (a
            // rotated key, a clock being mended), but a storage error the job waits out.
            assertThatThrownBy(() -> wrong.exists(BUCKET, "creds/0.png"))
                    .isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("S3 GET s3://easel-it/creds/0.png failed: HTTP 403");
            assertThatThrownBy(() -> wrong.exists(BUCKET, "creds/missing.png"))
                    .isExactlyInstanceOf(IOException.class);
            assertThatThrownBy(() -> wrong.bucketExists(BUCKET)).isExactlyInstanceOf(IOException.class)
                    .hasMessageStartingWith("S3 LIST s3://easel-it/ failed: HTTP 403");
        }
        assertThat(store.exists(BUCKET, "creds/0.png")).isTrue();
        assertThat(store.exists(BUCKET, "creds/missing.png")).isFalse();
    }

    @Test
    void fetcherReadsAnObjectAndReportsAMissingOneAsNotFound() throws IOException {
        byte[] png = randomBytes(2000, 4);
        store.put(BUCKET, "uploads/park.png", png, "image/png", Map.of());
        ObjectFetcher fetcher = store;

        try (InputStream in = fetcher.open(BUCKET, "uploads/park.png")) {
            assertThat(in.readAllBytes()).isEqualTo(png);
        }
        assertThatThrownBy(() -> fetcher.open(BUCKET, "uploads/missing.png"))
                .isInstanceOf(ObjectFetcher.NotFoundException.class)
                .hasMessage("s3://easel-it/uploads/missing.png does not exist");
        assertThatThrownBy(() -> fetcher.open("no-such-bucket", "uploads/park.png"))
                .isInstanceOf(ObjectFetcher.NotFoundException.class);
    }

    /** Not an assertion: put and get latency of a PNG-sized object on loopback, for the report. */
    @Test
    void putGetLatencyOfA400KbObject() throws IOException {
        byte[] png = randomBytes(400 * 1024, 5);
        int warmup = 30;
        int runs = 200;
        long[] put = new long[runs];
        long[] get = new long[runs];
        long[] both = new long[runs];
        for (int i = -warmup; i < runs; i++) {
            String key = "bench/" + i + ".png";
            long t0 = System.nanoTime();
            store.put(BUCKET, key, png, "image/png", Map.of("seed", Integer.toString(i)));
            long t1 = System.nanoTime();
            StoredObject read = store.get(BUCKET, key, png.length).orElseThrow();
            long t2 = System.nanoTime();
            assertThat(read.bytes()).hasSize(png.length);
            if (i >= 0) {
                put[i] = t1 - t0;
                get[i] = t2 - t1;
                both[i] = t2 - t0;
            }
        }
        System.out.printf("S3ObjectStore 400 KiB on loopback S3Proxy, %d ops after %d warm-up: put p50 %.1f ms p99 %.1f ms;"
                + " get p50 %.1f ms p99 %.1f ms; put+get p50 %.1f ms p99 %.1f ms%n", runs, warmup,
                ms(put, 50), ms(put, 99), ms(get, 50), ms(get, 99), ms(both, 50), ms(both, 99));
    }

    private static double ms(long[] nanos, int percentile) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, index)] / 1e6;
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
