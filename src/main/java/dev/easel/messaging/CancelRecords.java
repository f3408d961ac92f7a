package dev.easel.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import dev.easel.security.Tenants;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The records of the control topic ({@code easel.topics.control}, docs/events.md "Cancellations"):
 * one per cancelled job, keyed by {@code tenant/jobId}, the value
 * {@code {"tenant": "...", "id": "...", "reason": "...", "requestedAt": "RFC 3339"}} (no tenant: {@code default}). Written by {@link CancelQueue},
 * read by every worker (dev.easel.worker.CancellationFeed). Unknown fields are ignored, so a later
 * version may add some.
 */
public final class CancelRecords {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** What a cancellation says when its record gives no reason. */
    static final String NO_REASON = "no reason given";

    private CancelRecords() {
    }

    /** A job's cancellation, as its submitter asked for it. */
    public record CancelRequest(String tenant, String jobId, String reason, Instant requestedAt) {
    }

    /** A record's key: one per tenant's job, so compaction keeps each job's latest cancellation. */
    public static String key(String tenant, String jobId) {
        return tenant + "/" + jobId;
    }

    /** The record for the control topic. */
    public static ProducerRecord<byte[], byte[]> record(String topic, CancelRequest request) {
        ObjectNode value = JSON.createObjectNode()
                .put("tenant", request.tenant())
                .put("id", request.jobId())
                .put("reason", request.reason())
                .put("requestedAt", request.requestedAt().toString());
        try {
            return new ProducerRecord<>(topic, key(request.tenant(), request.jobId()).getBytes(StandardCharsets.UTF_8),
                    JSON.writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a cancellation cannot fail to serialise", e);
        }
    }

    /**
     * Reads a record of the control topic.
     *
     * @param timestampMillis the record's timestamp: when a record names no {@code requestedAt}
     * @return the cancellation; empty for a tombstone (no value), which cancels nothing
     * @throws IllegalArgumentException for a record that is no cancellation, saying why
     */
    public static Optional<CancelRequest> decode(byte[] key, byte[] value, long timestampMillis) {
        if (value == null) {
            return Optional.empty();
        }
        JsonNode json;
        try {
            json = JSON.readTree(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("value is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("value is not JSON: " + e.getMessage(), e);
        }
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("value is not a JSON object");
        }
        String keyId = key == null || key.length == 0 ? null : new String(key, StandardCharsets.UTF_8);
        JsonNode idNode = json.get("id");
        if (idNode != null && !(idNode.isTextual() && !idNode.asText().isEmpty())) {
            throw new IllegalArgumentException("\"id\" is not a non-empty string");
        }
        String id = idNode == null ? keyId : idNode.asText();
        if (id == null) {
            throw new IllegalArgumentException("no job id: neither a key nor an \"id\"");
        }
        JsonNode tenantNode = json.get("tenant");
        if (tenantNode != null && !(tenantNode.isTextual() && !tenantNode.asText().isEmpty())) {
            throw new IllegalArgumentException("\"tenant\" is not a non-empty string");
        }
        String tenant = tenantNode == null ? Tenants.DEFAULT : tenantNode.asText();
        if (keyId != null && !keyId.equals(id) && !keyId.equals(key(tenant, id))) {
            throw new IllegalArgumentException("key \"" + keyId + "\" and \"id\" \"" + id + "\" differ");
        }
        JsonNode reasonNode = json.get("reason");
        if (reasonNode != null && !reasonNode.isNull() && !reasonNode.isTextual()) {
            throw new IllegalArgumentException("\"reason\" is not a string");
        }
        String reason = reasonNode == null || reasonNode.isNull() || reasonNode.asText().isBlank() ? NO_REASON
                : reasonNode.asText();
        JsonNode atNode = json.get("requestedAt");
        Instant at;
        if (atNode == null || atNode.isNull()) {
            at = Instant.ofEpochMilli(timestampMillis);
        } else if (!atNode.isTextual()) {
            throw new IllegalArgumentException("\"requestedAt\" is not a string");
        } else {
            try {
                at = OffsetDateTime.parse(atNode.asText()).toInstant();
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("\"requestedAt\" is not an RFC 3339 date-time: " + atNode.asText(), e);
            }
        }
        return Optional.of(new CancelRequest(tenant, id, reason, at));
    }
}
