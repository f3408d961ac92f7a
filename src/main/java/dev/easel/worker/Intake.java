package dev.easel.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contract.Job;
import dev.easel.contract.JobDefaults;
import dev.easel.contract.JobRejection;
import dev.easel.contract.JobWebhook;
import dev.easel.engine.pipeline.DiffusionPipeline;
import java.util.Optional;

/** What intake made of a job's bytes: a job this worker can run, or why there is none. */
sealed interface Intake {

    /**
     * Where a job's bytes came from.
     *
     * @param key      the record's key, to answer an invalid job under when it has no valid id
     * @param delivery what identifies the delivery ({@link JobRun#delivery()}), when anything does
     */
    record Source(Optional<String> key, Optional<String> delivery) {

        /** The id of a job that has none: derived from the delivery, the same each time it comes. */
        String jobId() {
            return delivery.map(dev.easel.contract.JobIds::of).orElseGet(dev.easel.contract.JobIds::generate);
        }
    }

    /** The job's id as far as it is known: the one to answer under. */
    String jobId();

    /**
     * A valid job for a model this worker serves.
     *
     * @param refiner  the loaded refiner the job names, if it names one
     * @param defaults what the model gives the parameters the job leaves out
     * @param loadMs   how long the job waited for its model to load (0 once loaded)
     */
    record Accepted(Job job, String digest, Models models, long loadMs) implements Intake {

        /** The job's model, its refiner, their defaults and where a job's rewritten model comes from. */
        record Models(DiffusionPipeline pipeline, Optional<DiffusionPipeline> refiner, JobDefaults defaults,
                      RewrittenModels rewrites) {
        }

        DiffusionPipeline pipeline() {
            return models.pipeline();
        }

        /** The same job on another pipeline of its model: its rewritten one. */
        Accepted on(DiffusionPipeline other) {
            return new Accepted(job, digest, new Models(other, models.refiner(), models.defaults(), models.rewrites()),
                    loadMs);
        }

        @Override
        public String jobId() {
            return job.id();
        }
    }

    /**
     * A valid job for a model this worker is configured with but could not load: no fault of the
     * job, so not rejected as invalid; answered failed, retryable, and dead-lettered for replay.
     *
     * @param digest the job's digest, to tell its own earlier answer from another job's under its id
     * @param model the model that failed to load (the job's, or its refiner's)
     * @param error why it failed, for the worker's log
     */
    record Unavailable(Job job, String digest, String model, String error) implements Intake {
        @Override
        public String jobId() {
            return job.id();
        }
    }

    /**
     * A job that cannot run: invalid, or for a model this worker does not serve.
     *
     * @param webhook  where to send its failed event, when its webhook fields were usable
     * @param metadata the job's metadata, to echo, when it had a valid one
     */
    record Rejected(String jobId, JobRejection rejection, Optional<JobWebhook> webhook, Optional<JsonNode> metadata)
            implements Intake {
    }
}
