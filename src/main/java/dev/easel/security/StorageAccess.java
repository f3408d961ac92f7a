package dev.easel.security;

import dev.easel.contract.ImageReference;
import dev.easel.contract.Job;
import dev.easel.contract.JobOutput;
import dev.easel.contract.Violation;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a tenant's job may read and write in storage: its {@code initImage} and {@code mask} inside
 * the tenant's read grants, its {@code output} inside its write grants. Checked at intake, before
 * any work, so a job cannot make the worker read or write for it what its tenant could not (the
 * worker's credentials reach further than any tenant's). Inline images need no grant.
 */
public final class StorageAccess {

    private StorageAccess() {
    }

    /** The violations of the job's storage references; empty when all are granted. */
    public static List<Violation> check(Job job, Tenant tenant) {
        List<Violation> violations = new ArrayList<>();
        read("initImage", job.initImage(), tenant).ifPresent(violations::add);
        read("mask", job.mask(), tenant).ifPresent(violations::add);
        job.output().ifPresent(output -> write(output, tenant).ifPresent(violations::add));
        return violations;
    }

    private static Optional<Violation> read(String field, Optional<ImageReference> reference, Tenant tenant) {
        if (reference.isEmpty() || !(reference.get() instanceof ImageReference.S3 s3)) {
            return Optional.empty();
        }
        if (tenant.reads().stream().anyMatch(grant -> grant.covers(s3.bucket(), s3.key()))) {
            return Optional.empty();
        }
        return Optional.of(new Violation(field, s3.uri() + " is outside what tenant " + tenant.id() + " may read",
                "an object under " + grants(tenant.reads())));
    }

    private static Optional<Violation> write(JobOutput output, Tenant tenant) {
        String prefix = output.keyPrefix().isEmpty() || output.keyPrefix().endsWith("/") ? output.keyPrefix()
                : output.keyPrefix() + "/";
        boolean bucketGranted = tenant.writes().stream().anyMatch(grant -> grant.bucket().equals(output.bucket()));
        if (!bucketGranted) {
            return Optional.of(new Violation("output.bucket", "\"" + output.bucket() + "\" is not a bucket tenant "
                    + tenant.id() + " may write", "one of " + grants(tenant.writes())));
        }
        if (tenant.writes().stream().noneMatch(grant -> grant.covers(output.bucket(), prefix))) {
            return Optional.of(new Violation("output.keyPrefix", "\"" + output.keyPrefix() + "\" in " + output.bucket()
                    + " is outside what tenant " + tenant.id() + " may write", "a prefix under " + grants(tenant.writes())));
        }
        return Optional.empty();
    }

    private static String grants(List<StorageGrant> grants) {
        return String.join(", ", grants.stream().map(StorageGrant::toString).toList());
    }
}
