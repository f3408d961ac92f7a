package dev.easel.api;

import dev.easel.config.WorkerConfig;
import dev.easel.contract.Job;
import dev.easel.contract.JobOutput;
import dev.easel.contract.JobRejection;
import dev.easel.contract.Validated;
import dev.easel.contract.Violation;
import dev.easel.messaging.JobQueue;
import dev.easel.contract.JobKeys;
import dev.easel.worker.JobProcessor;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * The job API: {@code POST /v1/jobs} queues a job on Kafka, {@code GET /v1/jobs/{id}} reads its
 * state from the object store. Methods block (broker acks, S3 requests), so they return plain
 * values and Quarkus REST runs them on worker threads.
 */
@Path("/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class JobsResource {

    private static final Logger LOG = Logger.getLogger(JobsResource.class);

    private final JobProcessor processor;
    private final JobQueue queue;
    private final JobLookup lookup;
    private final Duration publishTimeout;

    @Inject
    JobsResource(JobProcessor processor, JobQueue queue, JobLookup lookup, WorkerConfig worker) {
        this.processor = processor;
        this.queue = queue;
        this.lookup = lookup;
        this.publishTimeout = worker.publishTimeout();
    }

    /**
     * 202 with the job's id and status URL once the broker has the job; 400 with the contract's
     * rejection body for a bad job; 503 when the broker or the store cannot take it (retry with
     * the same id: re-posting is idempotent). A job already completed is not queued again.
     */
    @POST
    @Consumes(MediaType.WILDCARD)
    public Response submit(byte[] body) {
        Validated<Job> validated = processor.validate(body);
        if (validated instanceof Validated.Invalid<Job> invalid) {
            return Response.status(Response.Status.BAD_REQUEST).entity(invalid.rejection()).build();
        }
        Job job = ((Validated.Valid<Job>) validated).value();
        String bucket = job.output().map(JobOutput::bucket).orElse(lookup.defaultBucket());
        String prefix = job.output().map(JobOutput::keyPrefix).orElse("");
        JobKeys keys;
        try {
            keys = JobKeys.of(prefix, job.id());
        } catch (IllegalArgumentException e) {
            return Response.status(Response.Status.BAD_REQUEST).entity(new JobRejection(Optional.of(job.id()),
                    List.of(new Violation("output.keyPrefix", e.getMessage(), "a prefix of valid S3 keys")))).build();
        }
        JobView view = JobView.queued(job.id());
        try {
            if (lookup.completed(bucket, keys)) {
                view = lookup.find(job.id()).orElse(view);
            } else {
                queue.submit(job.id(), processor.toJson(job)).toCompletableFuture()
                        .get(publishTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            // After the broker has it, so a refused job leaves no pointer claiming it is queued.
            lookup.writePointer(job.id(), bucket, prefix);
        } catch (IOException e) {
            return unavailable(job.id(), "storage failed: " + e.getMessage());
        } catch (ExecutionException | TimeoutException e) {
            return unavailable(job.id(), "the broker did not take the job: " + (e.getCause() != null ? e.getCause() : e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable(job.id(), "interrupted");
        }
        return Response.accepted(view).location(URI.create(view.statusUrl())).build();
    }

    /** 200 with the job's state ({@link JobView}); 404 for a job the store does not know. */
    @GET
    @Path("{id}")
    public Response status(@PathParam("id") String id) {
        try {
            return lookup.find(id).map(view -> Response.ok(view).build())
                    .orElseGet(() -> Response.status(Response.Status.NOT_FOUND)
                            .entity(Map.of("error", "not_found", "id", id)).build());
        } catch (IOException e) {
            return unavailable(id, "storage failed: " + e.getMessage());
        }
    }

    private static Response unavailable(String id, String reason) {
        LOG.warnf("job %s: %s", id, reason);
        return Response.status(Response.Status.SERVICE_UNAVAILABLE).entity(Map.of("error", "unavailable", "id", id,
                "reason", reason)).build();
    }
}
