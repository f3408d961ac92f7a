package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.easel.contract.Violation;
import java.util.List;

/**
 * A job's state while it has no result manifest: {@code status.json} under the job's prefix
 * ({@link dev.easel.contract.JobKeys#status()}), written by the worker once a job has run for
 * {@code easel.worker.running-status-delay} and when the job fails. A completed job is told by its manifest, which the job status endpoint reads first.
 *
 * @param state      {@value #RUNNING}, {@value #FAILED} or {@value #CANCELLED}
 * @param reason     why it failed; null while running
 * @param violations what was wrong with the job, when that is why it failed; else null
 * @param retryable  for a failure: whether the same job may succeed later
 * @param updatedAt  when this record was written (ISO-8601, UTC)
 * @param tenant     whose job it is: tenants granted one output prefix write their jobs' records
 *                   under the same keys, and a record of another tenant's job is not this one's
 *                   state; null in records of older workers
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
// A field a later version adds must not make this version's readers (API pods mid-rollout) fail.
@JsonIgnoreProperties(ignoreUnknown = true)
public record JobStatus(String state, String reason, List<Violation> violations, Boolean retryable, String updatedAt,
                        String tenant) {

    public static final String RUNNING = "running";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    /** Whether this can be the state of a job of {@code tenantId}: its own, or written before records named their tenant. */
    public boolean isOf(String tenantId) {
        return tenant == null || tenant.equals(tenantId);
    }
}
