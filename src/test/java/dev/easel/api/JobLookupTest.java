package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.S3Config;
import dev.easel.contract.JobKeys;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import dev.easel.security.Tenant;
import dev.easel.security.Tenants;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * What GET and POST read back as a job's answer. A job's output may be a bucket its tenant writes
 * itself, so the manifest found there is presigned only when it names the job's own keys.
 */
class JobLookupTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEFAULT_BUCKET = "images";
    private static final String OWN_BUCKET = "tenant-own";

    private final MapStore store = new MapStore();
    private final JobLookup lookup = new JobLookup(store, s3Config());
    private final Tenant tenant = new Tenants(false, Map.of(), DEFAULT_BUCKET, "easel.jobs", Optional.empty())
            .byId(Tenants.DEFAULT).orElseThrow();

    @Test
    void aManifestOfTheJobsOwnKeysIsTheAnswerPresignedInItsBucket() throws Exception {
        JobKeys keys = pointTo("j1", OWN_BUCKET, "p");
        store.put(OWN_BUCKET, keys.manifest(), manifest("j1", OWN_BUCKET, keys.image(0)));

        JobView view = lookup.find(tenant, "j1").orElseThrow();

        assertThat(view.status()).isEqualTo("completed");
        assertThat(view.images()).singleElement().satisfies(i -> {
            assertThat(i.objectKey()).isEqualTo("p/j1/0.png");
            assertThat(i.url()).isEqualTo("https://store.test/" + OWN_BUCKET + "/p/j1/0.png?sig");
        });
        assertThat(lookup.manifest("j1", OWN_BUCKET, keys)).isPresent();
    }

    /**
     * Two tenants granted one output prefix store their jobs under the same keys: tenant B's job X
     * must not show tenant A's result or state of job X, nor presign A's images with the worker's
     * credentials.
     */
    @Test
    void anotherTenantsRecordsUnderASharedPrefixAreNotThisJobsState() throws Exception {
        JobKeys keys = pointTo("j7", OWN_BUCKET, "shared");
        store.put(OWN_BUCKET, keys.manifest(), manifest("j7", OWN_BUCKET, keys.image(0), "acme"));

        assertThat(lookup.find(tenant, "j7").orElseThrow().status()).isEqualTo("queued");
        assertThat(store.presigned).isEmpty();

        store.objects.remove(OWN_BUCKET + "/" + keys.manifest());
        store.put(OWN_BUCKET, keys.status(), status(JobStatus.CANCELLED, "2026-12-07T00:00:05Z", "acme"));
        assertThat(lookup.find(tenant, "j7").orElseThrow().status()).isEqualTo("queued");

        store.put(OWN_BUCKET, keys.status(), status(JobStatus.CANCELLED, "2026-12-07T00:00:05Z", Tenants.DEFAULT));
        assertThat(lookup.find(tenant, "j7").orElseThrow().status()).isEqualTo("cancelled");
        store.put(OWN_BUCKET, keys.manifest(), manifest("j7", OWN_BUCKET, keys.image(0), Tenants.DEFAULT));
        assertThat(lookup.find(tenant, "j7").orElseThrow().status()).isEqualTo("completed");
    }

    /** The confused deputy: a manifest written into a bucket the tenant writes itself, naming another tenant's image. */
    @Test
    void aManifestNamingAnotherBucketIsNotPresigned() throws Exception {
        JobKeys keys = pointTo("j2", OWN_BUCKET, "p");
        store.put(OWN_BUCKET, keys.manifest(), manifest("j2", DEFAULT_BUCKET, "beta/secret/0.png"));

        assertThat(lookup.find(tenant, "j2").orElseThrow().status()).isEqualTo("queued");
        assertThat(lookup.manifest("j2", OWN_BUCKET, keys)).isEmpty();
        assertThat(store.presigned).isEmpty();
    }

    @Test
    void aManifestNamingKeysOutsideTheJobsPrefixOrAnotherJobIsNotTheAnswer() throws Exception {
        JobKeys keys = pointTo("j3", OWN_BUCKET, "p");
        store.put(OWN_BUCKET, keys.manifest(), manifest("j3", OWN_BUCKET, "q/j3/0.png"));
        assertThat(lookup.find(tenant, "j3").orElseThrow().status()).isEqualTo("queued");

        store.put(OWN_BUCKET, keys.manifest(), manifest("j3", OWN_BUCKET, "p/j3x/0.png"));
        assertThat(lookup.manifest("j3", OWN_BUCKET, keys)).isEmpty();

        store.put(OWN_BUCKET, keys.manifest(), manifest("j4", OWN_BUCKET, keys.image(0)));
        assertThat(lookup.manifest("j3", OWN_BUCKET, keys)).isEmpty();
        assertThat(store.presigned).isEmpty();
    }

    /** A re-post the broker did not take leaves no job, unless an earlier submission of the id ran. */
    @Test
    void aSubmissionTheBrokerDidNotTakeIsUnknownUnlessTheIdRanBefore() throws Exception {
        lookup.writePointer(tenant, new JobPointer("j5", OWN_BUCKET, "p", "2026-12-07T00:00:00Z", "d",
                JobPointer.NOT_QUEUED));
        assertThat(lookup.find(tenant, "j5")).isEmpty();

        store.put(OWN_BUCKET, JobKeys.of("p", "j5").status(), status(JobStatus.FAILED, "2026-12-06T23:00:00Z"));
        assertThat(lookup.find(tenant, "j5").orElseThrow().status()).isEqualTo("failed");
    }

    /** A failed job posted again runs again: its old answer is not its state until the new run writes one. */
    @Test
    void anAnswerOlderThanTheSubmissionIsNotTheJobsState() throws Exception {
        JobKeys keys = pointTo("j6", OWN_BUCKET, "p"); // submitted 2026-12-07T00:00:00Z
        store.put(OWN_BUCKET, keys.status(), status(JobStatus.FAILED, "2026-12-06T23:00:00Z"));
        assertThat(lookup.find(tenant, "j6").orElseThrow().status()).isEqualTo("queued");

        store.put(OWN_BUCKET, keys.status(), status(JobStatus.RUNNING, "2026-12-07T00:00:05Z"));
        assertThat(lookup.find(tenant, "j6").orElseThrow().status()).isEqualTo("running");
    }

    private static byte[] status(String state, String updatedAt) throws Exception {
        return status(state, updatedAt, null);
    }

    private static byte[] status(String state, String updatedAt, String tenantId) throws Exception {
        return JSON.writeValueAsBytes(new JobStatus(state, state.equals(JobStatus.FAILED) ? "broke" : null, null,
                state.equals(JobStatus.FAILED) ? false : null, updatedAt, tenantId));
    }

    private JobKeys pointTo(String id, String bucket, String prefix) throws Exception {
        lookup.writePointer(tenant, new JobPointer(id, bucket, prefix, "2026-12-07T00:00:00Z", "d", null));
        return JobKeys.of(prefix, id);
    }

    private static byte[] manifest(String id, String bucket, String imageKey) throws Exception {
        return manifest(id, bucket, imageKey, null);
    }

    private static byte[] manifest(String id, String bucket, String imageKey, String tenantId) throws Exception {
        return JSON.writeValueAsBytes(new Manifest(id, "oracle", bucket, List.of(new Manifest.StoredImage(imageKey, 7)), 7,
                false, "ddim", Map.of(), null, "2026-12-07T00:00:00Z", null, null, tenantId));
    }

    private static S3Config s3Config() {
        return (S3Config) Proxy.newProxyInstance(S3Config.class.getClassLoader(), new Class<?>[] {S3Config.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "bucket" -> DEFAULT_BUCKET;
                    case "presignTtl" -> Duration.ofHours(1);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** Objects in a map; presigned URLs recorded. */
    private static final class MapStore implements ObjectStore {
        final Map<String, StoredObject> objects = new ConcurrentHashMap<>();
        final List<String> presigned = new java.util.concurrent.CopyOnWriteArrayList<>();

        void put(String bucket, String key, byte[] bytes) {
            objects.put(bucket + "/" + key, new StoredObject(bytes, "application/json", Map.of()));
        }

        @Override
        public void put(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata) {
            objects.put(bucket + "/" + key, new StoredObject(bytes, contentType, metadata));
        }

        @Override
        public boolean putIfAbsent(String bucket, String key, byte[] bytes, String contentType,
                                   Map<String, String> metadata) {
            return objects.putIfAbsent(bucket + "/" + key, new StoredObject(bytes, contentType, metadata)) == null;
        }

        @Override
        public Optional<StoredObject> get(String bucket, String key, int maxBytes) {
            return Optional.ofNullable(objects.get(bucket + "/" + key));
        }

        @Override
        public boolean bucketExists(String bucket) {
            return true;
        }

        @Override
        public boolean exists(String bucket, String key) {
            return objects.containsKey(bucket + "/" + key);
        }

        @Override
        public URI presignGet(String bucket, String key, Duration ttl) {
            presigned.add(bucket + "/" + key);
            return URI.create("https://store.test/" + bucket + "/" + key + "?sig");
        }
    }
}
