package dev.easel.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.messaging.JobRecords;
import dev.easel.security.Caller;
import dev.easel.security.FairUse;
import dev.easel.security.Tenant;
import dev.easel.security.Tenants;
import dev.easel.worker.JobAbandonedException;
import dev.easel.worker.Jobs;
import dev.easel.worker.UnansweredJobException;
import dev.easel.worker.WorkerLifecycle;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.jboss.logging.Logger;

/**
 * Knative push mode: a KafkaSource (or any CloudEvents sender) POSTs each job as a CloudEvent to
 * {@code /}, and the job runs here, synchronously, on the request's worker thread. The answer
 * tells the sender whether to deliver again: 200 when the job has its final answer (completed,
 * cancelled, or failed for good, invalid jobs included; the body is the final event's data), 503
 * when it should be redelivered (storage or the broker away past the retry budget, or this worker
 * shutting down), 400 for a request that is not a CloudEvent carrying a JSON object.
 */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
public class PushResource {

    private static final Logger LOG = Logger.getLogger(PushResource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String UNANSWERED = "the job has no final answer yet (the broker or storage is unavailable);"
            + " deliver it again";
    static final String CUT_OFF = "this worker is shutting down and cut the job off; deliver it again";

    private final Jobs jobs;
    private final WorkerLifecycle lifecycle;
    private final CurrentCaller caller;
    private final Tenants tenants;
    private final FairUse fairUse;
    /** Whether a push without a credential may take its tenant from its topic (easel.security.push-needs-credential=false). */
    private final boolean topicMayName;

    @Inject
    PushResource(Jobs jobs, WorkerLifecycle lifecycle, CurrentCaller caller, Tenants tenants, FairUse fairUse,
                 dev.easel.config.SecurityConfig security) {
        this.jobs = jobs;
        this.lifecycle = lifecycle;
        this.caller = caller;
        this.tenants = tenants;
        this.fairUse = fairUse;
        this.topicMayName = !security.pushNeedsCredential();
    }

    /**
     * The CloudEvents extension naming the jobs topic an event was read from. Each tenant's
     * KafkaSource sets it ({@code spec.ceOverrides.extensions}, k8s/knative/kafkasource.yaml), and
     * its dispatcher sets it on every event over any value the record carried. The event's
     * {@code source} is no such proof: a producer writing CloudEvents to a topic chooses it, and
     * the dispatcher passes it through.
     */
    public static final String TOPIC_EXTENSION = "easeltopic";

    /**
     * The caller's tenant; without a credential (easel.security.push-needs-credential=false), the
     * tenant of the topic the event's {@value #TOPIC_EXTENSION} names.
     */
    private Optional<Tenant> tenant(Headers headers, byte[] body, JobRecords.Form form) {
        return tenant(caller.find(), topicMayName ? topic(form, headers, body) : Optional.empty(), tenants);
    }

    /**
     * The caller's tenant, else the tenant of the jobs topic the event names, which is only looked
     * at ({@code topic} not empty) where a push needs no credential: Authentication refuses a push
     * without one otherwise, and should a path spelling ever reach here past it, the sender-chosen
     * extension still names no tenant.
     */
    static Optional<Tenant> tenant(Optional<Caller> caller, Optional<String> topic, Tenants tenants) {
        Optional<Tenant> known = caller.map(Caller::tenant);
        return known.isPresent() ? known : topic.flatMap(tenants::ofTopic);
    }

    /**
     * Where a pushed job counts in flight: this request's own place. Not the event's identity, which
     * the sender chooses: many jobs under one source and id would share one place and pass the
     * max-in-flight check after the first.
     */
    private static String slot() {
        return "push:" + java.util.UUID.randomUUID();
    }

    /** The jobs topic the event's {@value #TOPIC_EXTENSION} names; empty without one. */
    static Optional<String> topic(JobRecords.Form form, Headers headers, byte[] body) {
        return attribute(form, headers, body, TOPIC_EXTENSION).filter(t -> !t.isEmpty());
    }

    @POST
    @Consumes(MediaType.WILDCARD)
    public Response push(HttpHeaders http, byte[] body) {
        Headers headers = recordHeaders(http.getRequestHeaders());
        JobRecords.Decoded decoded = JobRecords.decode(headers, body);
        if (decoded instanceof JobRecords.Unreadable unreadable) {
            return refused("unreadable_event", unreadable.reason(), headers);
        }
        JobRecords.Readable readable = (JobRecords.Readable) decoded;
        if (readable.form() == JobRecords.Form.PLAIN_JSON) {
            // Push mode takes CloudEvents only; a plain job belongs on POST /v1/jobs.
            return refused("unreadable_event", "not a CloudEvent: binary mode needs the headers ce-specversion, ce-id,"
                    + " ce-source and ce-type; structured mode content-type application/cloudevents+json (submit plain"
                    + " jobs to POST /v1/jobs)", headers);
        }
        if (!lifecycle.begin()) {
            return Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .entity(Map.of("error", "shutting_down", "reason", "this worker takes no new jobs")).build();
        }
        try {
            Optional<Tenant> tenant = tenant(headers, body, readable.form());
            if (tenant.isEmpty()) {
                return refused("no_tenant", "no credential, and the event's " + TOPIC_EXTENSION + " extension (set by"
                        + " its KafkaSource's ceOverrides) names no tenant's jobs topic", headers);
            }
            Optional<String> identity = identity(readable.form(), headers, body);
            // A caller with a credential pushes its own jobs, run here at once: without the fair-use
            // limits of POST /v1/jobs, one tenant could take every job thread. A KafkaSource's
            // deliveries (no credential) are jobs already on a topic, as pull mode's are.
            String slot = slot();
            Optional<FairUse.Admission> admission = caller.find().isPresent()
                    ? Optional.of(fairUse.admit(tenant.get(), slot)) : Optional.empty();
            Optional<FairUse.Refusal> refusal = admission.flatMap(FairUse.Admission::refusal);
            if (refusal.isPresent()) {
                return Response.status(429).header("Retry-After", Long.toString(refusal.get().retryAfter().toSeconds()))
                        .entity(Map.of("error", "too_many_requests", "reason", refusal.get().reason())).build();
            }
            try {
                JsonNode answer = jobs.pushed(readable.json(), sentAt(readable.form(), headers, body), tenant.get(), identity);
                return Response.ok(answer).build();
            } finally {
                if (admission.map(FairUse.Admission::counted).orElse(false)) {
                    fairUse.answered(tenant.get().id(), slot);
                }
            }
        } catch (UnansweredJobException e) {
            // The detail (a broker's or a store's message, an internal error) stays in the log: the
            // sender learns only what to do, as JobsResource's 503s say.
            LOG.warnf("pushed job not answered, asking for redelivery: %s", e.getMessage());
            return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", HttpErrors.RETRY_AFTER_SECONDS)
                    .entity(Map.of("error", "unanswered", "reason", UNANSWERED)).build();
        } catch (JobAbandonedException e) {
            LOG.infof("pushed job cut off, asking for redelivery: %s", e.getMessage());
            return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", HttpErrors.RETRY_AFTER_SECONDS)
                    .entity(Map.of("error", "shutting_down", "reason", CUT_OFF)).build();
        } finally {
            lifecycle.end();
        }
    }

    /**
     * 400 for a request that is no job this worker can read. The sender does not retry it (a
     * KafkaSource dead-letters it, k8s/knative/kafkasink.yaml), so it is logged and counted here,
     * as a pulled record that is no job is.
     */
    private Response refused(String error, String reason, Headers headers) {
        Header id = headers.lastHeader("ce_id");
        Header source = headers.lastHeader("ce_source");
        LOG.warnf("pushed request refused (%s): %s; ce-source %s, ce-id %s", error, reason, logged(source),
                logged(id));
        jobs.pushRefused();
        return Response.status(Response.Status.BAD_REQUEST).entity(Map.of("error", error, "reason", reason)).build();
    }

    /** A header's value for the log: at most 200 characters of the sender's text. */
    private static String logged(Header header) {
        if (header == null) {
            return "-";
        }
        String value = new String(header.value(), StandardCharsets.UTF_8);
        return value.length() <= 200 ? value : value.substring(0, 200) + "…";
    }

    /**
     * The HTTP binding's {@code ce-*} headers as the Kafka binding's {@code ce_*}, and the content
     * type, so that {@link JobRecords} reads both bindings with one set of rules.
     */
    static Headers recordHeaders(MultivaluedMap<String, String> http) {
        Headers headers = new RecordHeaders();
        for (Map.Entry<String, List<String>> entry : http.entrySet()) {
            String name = entry.getKey().toLowerCase(Locale.ROOT);
            String kafkaName = name.startsWith("ce-") ? "ce_" + name.substring(3)
                    : name.equals("content-type") ? name : null;
            if (kafkaName != null && !entry.getValue().isEmpty()) {
                headers.add(kafkaName, entry.getValue().get(0).getBytes(StandardCharsets.UTF_8));
            }
        }
        return headers;
    }

    /**
     * The event's {@code source} and {@code id}, which identify it (CloudEvents: unique per source),
     * and which a sender's redelivery repeats; empty for an event without both.
     */
    static Optional<String> identity(JobRecords.Form form, Headers headers, byte[] body) {
        Optional<String> source = attribute(form, headers, body, "source").filter(s -> !s.isEmpty());
        Optional<String> id = attribute(form, headers, body, "id").filter(s -> !s.isEmpty());
        return source.isEmpty() || id.isEmpty() ? Optional.empty() : Optional.of(source.get() + "#" + id.get());
    }

    /** A CloudEvent attribute: its {@code ce_} header in binary mode, its member in structured mode; empty when absent. */
    private static Optional<String> attribute(JobRecords.Form form, Headers headers, byte[] body, String name) {
        if (form == JobRecords.Form.BINARY_CLOUD_EVENT) {
            return Optional.ofNullable(headers.lastHeader("ce_" + name))
                    .map(h -> new String(h.value(), StandardCharsets.UTF_8));
        }
        if (form == JobRecords.Form.STRUCTURED_CLOUD_EVENT) {
            try {
                JsonNode value = JSON.readTree(body).path(name);
                return value.isTextual() ? Optional.of(value.asText()) : Optional.empty();
            } catch (IOException e) {
                return Optional.empty(); // JobRecords has read it already; cannot happen
            }
        }
        return Optional.empty();
    }

    /** The event's {@code time}, when it has a valid one: the job's submission, for its queue timing. */
    static Optional<Instant> sentAt(JobRecords.Form form, Headers headers, byte[] body) {
        Optional<String> time = attribute(form, headers, body, "time");
        try {
            return time.map(t -> OffsetDateTime.parse(t).toInstant());
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
