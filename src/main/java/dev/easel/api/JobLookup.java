package dev.easel.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.S3Config;
import dev.easel.contract.JobKeys;
import dev.easel.security.Tenant;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A job's state, read from the object store (the source of truth; there is no database): its
 * result manifest means completed, else its status record says running or failed, else its
 * pointer means queued. Jobs without a pointer (put on Kafka directly) are looked for in the
 * default bucket under their tenant's prefix, where such jobs' objects go unless they name an output.
 */
@ApplicationScoped
public class JobLookup {

    private static final Logger LOG = Logger.getLogger(JobLookup.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Pointers, status records and manifests are small; anything this big is not one of ours. */
    private static final int MAX_RECORD_BYTES = 1 << 20;

    private final ObjectStore store;
    private final String defaultBucket;
    private final Duration presignTtl;
    private final Clock clock;

    @Inject
    JobLookup(ObjectStore store, S3Config s3) {
        this.store = store;
        this.defaultBucket = s3.bucket();
        this.presignTtl = s3.presignTtl();
        this.clock = Clock.systemUTC();
    }

    /**
     * @param id any string from a URL; an id the contract forbids is simply unknown
     * @throws IOException if storage failed: the state is unknown, not absent
     */
    public Optional<JobView> find(Tenant tenant, String id) throws IOException {
        String pointerKey;
        try {
            pointerKey = JobKeys.pointer(tenant.id(), id);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        Optional<JobPointer> pointer = read(defaultBucket, pointerKey, JobPointer.class);
        // A submission the broker did not take: unknown, unless an earlier one of the id ran.
        boolean notQueued = pointer.isPresent() && !pointer.get().queued();
        String bucket = pointer.map(JobPointer::bucket).orElse(defaultBucket);
        JobKeys keys = JobKeys.of(pointer.map(JobPointer::keyPrefix).orElse(tenant.keyPrefix()), id);
        // Tenants granted one output prefix share its keys: another tenant's records there are not this job's.
        Optional<Manifest> manifest = manifest(id, bucket, keys).filter(m -> isOf(m.isOf(tenant.id()), id, bucket, keys));
        if (manifest.isPresent()) {
            return Optional.of(JobView.completed(manifest.get(),
                    key -> store.presignGet(bucket, key, presignTtl).toString()));
        }
        Optional<JobStatus> status = read(bucket, keys.status(), JobStatus.class)
                .filter(st -> isOf(st.isOf(tenant.id()), id, bucket, keys));
        boolean stale = status.isPresent() && pointer.filter(JobPointer::queued).filter(p -> before(status.get(), p))
                .isPresent();
        if (status.isPresent() && !stale) {
            return Optional.of(JobView.of(id, status.get()));
        }
        return notQueued ? Optional.empty() : pointer.map(p -> JobView.queued(id));
    }

    /**
     * Whether the status record is older than the submission: a failed or cancelled job posted again
     * is queued anew (only a manifest keeps a job from running again), and its old answer is not its
     * state until the new run writes one.
     */
    private static boolean before(JobStatus status, JobPointer pointer) {
        try {
            return status.updatedAt() != null && pointer.submittedAt() != null
                    && Instant.parse(status.updatedAt()).isBefore(Instant.parse(pointer.submittedAt()));
        } catch (java.time.format.DateTimeParseException e) {
            return false;
        }
    }

    private static boolean isOf(boolean ours, String id, String bucket, JobKeys keys) {
        if (!ours) {
            LOG.infof("job %s: %s/%s holds a record of another tenant's job under this id; not shown", id, bucket, keys);
        }
        return ours;
    }

    /** Records where a submitted job's objects will be, for {@link #find}. */
    void writePointer(Tenant tenant, JobPointer pointer) throws IOException {
        store.put(defaultBucket, JobKeys.pointer(tenant.id(), pointer.id()), JSON.writeValueAsBytes(pointer), "application/json",
                Map.of("job-id", pointer.id()));
    }

    /** The pointer of an HTTP-submitted job, if there is one. */
    Optional<JobPointer> pointer(Tenant tenant, String id) throws IOException {
        return read(defaultBucket, JobKeys.pointer(tenant.id(), id), JobPointer.class);
    }

    /**
     * The job's result manifest, if it is complete. One that names another job, bucket or prefix
     * ({@link Manifest#isFor}) is ignored: the job's output may be a bucket its tenant writes, and
     * presigning what a forged manifest names would hand out other tenants' objects.
     */
    Optional<Manifest> manifest(String id, String bucket, JobKeys keys) throws IOException {
        Optional<Manifest> manifest = read(bucket, keys.manifest(), Manifest.class);
        if (manifest.isPresent() && !manifest.get().isFor(id, bucket, keys)) {
            LOG.warnf("job %s: %s/%s names another job, bucket or prefix than the job's own; ignored", id, bucket,
                    keys.manifest());
            return Optional.empty();
        }
        return manifest;
    }

    Instant now() {
        return clock.instant();
    }

    String defaultBucket() {
        return defaultBucket;
    }

    private <T> Optional<T> read(String bucket, String key, Class<T> type) throws IOException {
        Optional<StoredObject> object = store.get(bucket, key, MAX_RECORD_BYTES);
        return object.isEmpty() ? Optional.empty() : Optional.of(JSON.readValue(object.get().bytes(), type));
    }
}
