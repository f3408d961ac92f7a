package dev.easel.worker;

import dev.easel.contract.Job;
import dev.easel.contract.JobKeys;
import dev.easel.contract.JobOutput;

/** Where a job's objects go: its bucket and keys. */
record Location(String bucket, JobKeys keys) {

    /**
     * @throws IllegalArgumentException naming the rule, if the job's output prefix cannot make keys
     */
    static Location of(Job job, String defaultBucket) {
        return new Location(job.output().map(JobOutput::bucket).orElse(defaultBucket),
                JobKeys.of(job.output().map(JobOutput::keyPrefix).orElse(""), job.id()));
    }
}
