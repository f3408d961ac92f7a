package dev.easel.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contract.Job;
import dev.easel.contract.JobKeys;
import dev.easel.contract.JobOutput;
import dev.easel.contract.JobRejection;
import dev.easel.contract.Manifest;
import dev.easel.contract.Validated;
import dev.easel.contract.Violation;
import dev.easel.messaging.CancelQueue;
import dev.easel.messaging.CancelRecords.CancelRequest;
import dev.easel.messaging.JobQueue;
import dev.easel.messaging.TransactionalSender;
import dev.easel.security.FairUse;
import dev.easel.security.Tenant;
import dev.easel.worker.JobIntake;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.jboss.logging.Logger;

/**
 * The job API: {@code POST /v1/jobs} queues a job on Kafka, {@code GET /v1/jobs/{id}} reads its
 * state from the object store, {@code DELETE /v1/jobs/{id}} puts its cancellation on the control
 * topic. Methods block (broker acks, S3 requests), so they return plain
 * values and Quarkus REST runs them on worker threads.
 */
@Path("/v1/jobs")
@Produces(MediaType.APPLICATION_JSON)
public class JobsResource {

    private static final Logger LOG = Logger.getLogger(JobsResource.class);
    /** The longest {@code reason} a cancellation may give. */
    static final int MAX_REASON = 200;
    private static final String DEFAULT_REASON = "requested by its submitter";
    private static final Set<String> FINAL = Set.of(JobView.COMPLETED, JobView.FAILED, JobView.CANCELLED);

    private final JobIntake intake;
    private final CurrentCaller caller;
    private final FairUse fairUse;
    private final MeterRegistry meters;
    private final JobQueue queue;
    private final JobLookup lookup;
    private final CancelQueue cancels;
    private final ObjectMapper json;

    @Inject
    JobsResource(JobIntake intake, JobQueue queue, JobLookup lookup, CancelQueue cancels, ObjectMapper json,
                 CurrentCaller caller, FairUse fairUse, MeterRegistry meters) {
        this.caller = caller;
        this.fairUse = fairUse;
        this.meters = meters;
        this.intake = intake;
        this.queue = queue;
        this.lookup = lookup;
        this.cancels = cancels;
        this.json = json;
    }

    /**
     * 202 with the job's id and status URL once the broker has the job; 400 with the contract's
     * rejection body for a bad job; 409 when the id is taken by a different job; 503 when the job
     * was not queued (the broker or the store could not take it: retry with the same id, re-posting
     * is idempotent). A job already completed is not queued again. 415 and 413 come from
     * {@link HttpErrors}.
     */
    @POST
    @Consumes({MediaType.APPLICATION_JSON, "application/*+json"})
    public Response submit(byte[] body) {
        Tenant tenant = caller.get().tenant();
        Validated<Job> validated = intake.validate(body, tenant);
        if (validated instanceof Validated.Invalid<Job> invalid) {
            return Response.status(Response.Status.BAD_REQUEST).entity(invalid.rejection()).build();
        }
        Job job = ((Validated.Valid<Job>) validated).value();
        FairUse.Admission admission = fairUse.admit(tenant, job.id());
        Optional<FairUse.Refusal> refused = admission.refusal();
        count(tenant, refused.isPresent() ? "refused" : "accepted");
        if (refused.isPresent()) {
            return Response.status(429).header("Retry-After", Long.toString(refused.get().retryAfter().toSeconds()))
                    .entity(Map.of("error", "too_many_requests", "id", job.id(), "reason", refused.get().reason()))
                    .build();
        }
        Response response = submit(tenant, job);
        // Only the submission that began counting the job releases it: a 409 or 503 for a re-post
        // of a job still in flight must not free its place. A job answered already (a re-post of a
        // completed one) gets no event that would free it.
        if (admission.counted() && (response.getStatus() >= 300 || answered(response))) {
            fairUse.answered(tenant.id(), job.id());
        }
        return response;
    }

    private static boolean answered(Response response) {
        return response.getEntity() instanceof JobView view && JobView.FINAL.contains(view.status());
    }

    private Response submit(Tenant tenant, Job job) {
        String bucket = job.output().map(JobOutput::bucket).orElse(lookup.defaultBucket());
        String prefix = job.output().map(JobOutput::keyPrefix).orElse(tenant.keyPrefix());
        JobKeys keys;
        try {
            keys = JobKeys.of(prefix, job.id());
        } catch (IllegalArgumentException e) {
            return Response.status(Response.Status.BAD_REQUEST).entity(new JobRejection(Optional.of(job.id()),
                    List.of(new Violation("output.keyPrefix", e.getMessage(), "a prefix of valid S3 keys")))).build();
        }
        String digest = intake.digest(job);
        JobPointer pointer = new JobPointer(job.id(), bucket, prefix, lookup.now().toString(), digest, null);
        Optional<JobPointer> queuedBefore;
        try {
            Optional<JobPointer> earlier = lookup.pointer(tenant, job.id());
            queuedBefore = earlier.filter(JobPointer::queued);
            if (queuedBefore.isPresent() && queuedBefore.get().digest() != null
                    && !queuedBefore.get().digest().equals(digest)) {
                return conflict(job.id());
            }
            Optional<Manifest> manifest = lookup.manifest(job.id(), bucket, keys);
            if (manifest.isPresent()) {
                // Another job's result under the id (another digest, or another tenant's sharing the prefix).
                if (!manifest.get().isOf(tenant.id())
                        || manifest.get().jobDigest() != null && !manifest.get().jobDigest().equals(digest)) {
                    return conflict(job.id());
                }
                lookup.writePointer(tenant, pointer);
                JobView view = lookup.find(tenant, job.id()).orElse(JobView.queued(job.id()));
                return Response.accepted(view).location(URI.create(view.statusUrl())).build();
            }
            // Before the job is on Kafka, so a queued job always has its pointer for GET to find.
            lookup.writePointer(tenant, pointer);
        } catch (IOException e) {
            return unavailable(job.id(), "not_queued", STORAGE_DOWN, e.getMessage());
        }
        try {
            queue.submit(tenant.jobsTopic(), job.id(), intake.toJson(job)).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TransactionalSender.Unconfirmed unconfirmed) {
                LOG.warnf("job %s: %s", job.id(), unconfirmed.getMessage());
                JobView view = JobView.unconfirmed(job.id());
                return Response.accepted(view).location(URI.create(view.statusUrl())).build();
            }
            // A re-post of a job queued before: that record is still on the topic, so the earlier
            // pointer is put back; marked not queued, the job would vanish from GET, events and
            // DELETE while it runs (and with this post's time, its old answer would read as stale).
            if (queuedBefore.isPresent()) {
                restorePointer(tenant, queuedBefore.get());
            } else {
                markNotQueued(tenant, pointer);
            }
            return unavailable(job.id(), "not_queued", "the broker did not take the job; try again",
                    Objects.requireNonNullElse(e.getCause(), e).getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable(job.id(), "not_queued", "interrupted", "");
        }
        JobView view = JobView.queued(job.id());
        return Response.accepted(view).location(URI.create(view.statusUrl())).build();
    }

    /** 200 with the job's state ({@link JobView}); 404 for a job the store does not know. */
    @GET
    @Path("{id}")
    public Response status(@PathParam("id") String id) {
        try {
            return lookup.find(caller.get().tenant(), id).map(view -> Response.ok(view).build())
                    .orElseGet(() -> Response.status(Response.Status.NOT_FOUND)
                            .entity(Map.of("error", "not_found", "id", id)).build());
        } catch (IOException e) {
            return unavailable(id, "unavailable", STORAGE_DOWN, e.getMessage());
        }
    }

    /**
     * Cancels a queued or running job: 202 with its view ({@code status} as found, plus
     * {@code "cancelRequested": true}) once the broker has the cancellation on the control topic,
     * from which every worker reads it: a running job stops at its next denoising step, a queued one
     * is answered {@code cancelled} when a worker takes it, without running. 404 for a job the store
     * does not know; 409 when it is already completed, failed or cancelled (the body names its
     * status); 400 for a {@code reason} over {@value #MAX_REASON} characters; 503 when the store
     * could not be read or the broker did not take the cancellation (DELETE again: it is idempotent).
     *
     * @param reason optional, why; carried into the job's {@code cancelled} event, webhook and status
     */
    @DELETE
    @Path("{id}")
    public Response cancel(@PathParam("id") String id, @QueryParam("reason") String reason) {
        if (reason != null && reason.length() > MAX_REASON) {
            return Response.status(Response.Status.BAD_REQUEST).entity(Map.of("error", "invalid_request", "id", id,
                    "reason", "reason is " + reason.length() + " characters long",
                    "limit", "reason ≤ " + MAX_REASON + " characters")).build();
        }
        Optional<JobView> found;
        try {
            found = lookup.find(caller.get().tenant(), id);
        } catch (IOException e) {
            return unavailable(id, "unavailable", STORAGE_DOWN, e.getMessage());
        }
        if (found.isEmpty()) {
            return Response.status(Response.Status.NOT_FOUND).entity(Map.of("error", "not_found", "id", id)).build();
        }
        JobView view = found.get();
        if (FINAL.contains(view.status())) {
            return Response.status(Response.Status.CONFLICT).entity(Map.of("error", "conflict", "id", id,
                    "status", view.status(), "reason", "the job is already " + view.status() + ": nothing to cancel"))
                    .build();
        }
        String why = reason == null || reason.isBlank() ? DEFAULT_REASON : reason;
        try {
            cancels.cancel(new CancelRequest(caller.get().tenant().id(), id, why, lookup.now())).get();
        } catch (ExecutionException e) {
            Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
            String problem = cause instanceof TransactionalSender.Unconfirmed
                    ? "the broker did not confirm the cancellation; it may still take effect: DELETE again"
                    : "the broker did not take the cancellation; DELETE again";
            return unavailable(id, "not_cancelled", problem, cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable(id, "not_cancelled", "interrupted", "");
        }
        LOG.infof("job %s: cancellation requested (%s), status was %s", id, why, view.status());
        ObjectNode body = json.valueToTree(view);
        body.put("cancelRequested", true);
        return Response.accepted(body).location(URI.create(view.statusUrl())).build();
    }

    /** Best effort: GET then says 404 rather than queued; a pointer left as it was still says queued. */
    private void restorePointer(Tenant tenant, JobPointer earlier) {
        try {
            lookup.writePointer(tenant, earlier);
        } catch (IOException e) {
            LOG.warnf("job %s: not queued again, and its earlier pointer not restored: %s", earlier.id(), e.getMessage());
        }
    }

    private void markNotQueued(Tenant tenant, JobPointer pointer) {
        try {
            lookup.writePointer(tenant, new JobPointer(pointer.id(), pointer.bucket(), pointer.keyPrefix(), pointer.submittedAt(),
                    pointer.digest(), JobPointer.NOT_QUEUED));
        } catch (IOException e) {
            LOG.warnf("job %s: not queued, and its pointer not updated: %s", pointer.id(), e.getMessage());
        }
    }

    private void count(Tenant tenant, String result) {
        Counter.builder("easel.submissions").description("Jobs submitted over HTTP, by tenant and whether fair use took them")
                .tags("tenant", tenant.id(), "result", result).register(meters).increment();
    }

    private static final String STORAGE_DOWN = "storage is unavailable; try again";

    private static Response conflict(String id) {
        return Response.status(Response.Status.CONFLICT).entity(Map.of("error", "conflict", "id", id, "reason",
                "a different job was submitted under this id; re-post the same job, or use another id")).build();
    }

    /**
     * 503 with a reason for the caller; the detail (the store's or the broker's own message, which
     * names buckets, keys and hosts) goes to the log only.
     */
    private static Response unavailable(String id, String error, String reason, String detail) {
        LOG.warnf("job %s: %s (%s)", id, reason, detail);
        return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", HttpErrors.RETRY_AFTER_SECONDS)
                .entity(Map.of("error", error, "id", id, "reason", reason)).build();
    }
}
