package dev.easel.worker;

import dev.easel.contract.Job;
import dev.easel.contract.JobKeys;
import dev.easel.contract.JobOutput;
import dev.easel.security.Tenant;

/** Where a job's objects go: its bucket and keys. */
record Location(String bucket, JobKeys keys) {

    /**
     * The job's own output (granted at intake), else its tenant's prefix of the default bucket.
     *
     * @throws IllegalArgumentException naming the rule, if the job's output prefix cannot make keys
     */
    static Location of(Job job, Tenant tenant, String defaultBucket) {
        if (job.output().isPresent()) {
            JobOutput output = job.output().get();
            return new Location(output.bucket(), JobKeys.of(output.keyPrefix(), job.id()));
        }
        return new Location(defaultBucket, JobKeys.of(tenant.keyPrefix(), job.id()));
    }
}
