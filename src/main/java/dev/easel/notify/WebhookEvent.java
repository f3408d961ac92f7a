package dev.easel.notify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.EventKind;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * One notification about a job.
 *
 * @param id the {@code webhook-id} header: unique per event and the same on every retry, so
 *     receivers can drop duplicates
 * @param type what happened
 * @param tenant whose job it is: its webhooks are signed with the tenant's secret, and the body
 *     names it, so a receiver can refuse another tenant's job (ids are only unique per tenant)
 * @param jobId the job it happened to
 * @param timestamp when it happened (the body's {@code timestamp}; each attempt's
 *     {@code webhook-timestamp} header is the time of that attempt)
 * @param data event-specific fields, serialised with Jackson
 */
public record WebhookEvent(String id, EventKind type, String tenant, String jobId, Instant timestamp,
                           Map<String, ?> data) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public WebhookEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(timestamp, "timestamp");
        data = Collections.unmodifiableMap(new LinkedHashMap<>(data)); // keeps the caller's field order
    }

    /** An event of the tenant's job happening now, with a fresh {@code msg_…} id. */
    public static WebhookEvent of(EventKind type, String tenant, String jobId, Map<String, ?> data) {
        return new WebhookEvent(id(UUID.randomUUID().toString()), type, tenant, jobId, Instant.now(), data);
    }

    /**
     * The {@code webhook-id} of the webhook that carries the CloudEvent with this id: the same
     * event gets the same webhook id however often it is sent, by whichever worker.
     */
    public static String id(String cloudEventId) {
        return "msg_" + cloudEventId.replace("-", "");
    }

    /**
     * The request body: {@code {"type":…,"timestamp":…,"tenant":…,"jobId":…,"data":{…}}}, the
     * Standard Webhooks envelope plus the tenant and the job id.
     *
     * @throws IllegalArgumentException when {@code data} holds something Jackson cannot write
     */
    public String toJson() {
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("type", type.webhookType());
        envelope.put("timestamp", timestamp.toString());
        envelope.put("tenant", tenant);
        envelope.put("jobId", jobId);
        envelope.put("data", data);
        try {
            return JSON.writeValueAsString(envelope);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("webhook data for job " + jobId + " cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }
}
