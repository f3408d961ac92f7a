package dev.easel.messaging;

import dev.easel.contract.JobEvents;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Turns a record from the jobs topic into the job's JSON bytes, for {@code dev.easel.contract.JobParser}.
 * Three forms are accepted (docs/events.md):
 * <ul>
 *   <li>a CloudEvent in binary mode: {@code ce_specversion}, {@code ce_id}, {@code ce_source},
 *       {@code ce_type} headers, the job JSON as the value;</li>
 *   <li>a CloudEvent in structured mode: {@code content-type: application/cloudevents+json}, the
 *       job JSON object in {@code data} (or base64 in {@code data_base64});</li>
 *   <li>the job JSON alone, with no content type or {@code application/json}.</li>
 * </ul>
 * Anything else is {@link Unreadable} with a reason for the dead-letter topic. Only the form is
 * checked here (a JSON object arrives); whether it is a valid job is the parser's business, and is
 * answered with a failed event rather than a dead letter. The jobs channel therefore reads raw
 * bytes with the connector's own CloudEvents handling off.
 */
public final class JobRecords {

    static final String CONTENT_TYPE = "content-type";
    private static final String CE_PREFIX = "ce_";
    private static final String STRUCTURED_PREFIX = "application/cloudevents";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobRecords() {
    }

    /** Which form a readable record had. */
    public enum Form { BINARY_CLOUD_EVENT, STRUCTURED_CLOUD_EVENT, PLAIN_JSON }

    /** The outcome of {@link #decode}. */
    public sealed interface Decoded permits Readable, Unreadable {
    }

    /** @param json the job document, a JSON object, as UTF-8 */
    public record Readable(byte[] json, Form form) implements Decoded {
    }

    /** @param reason one line for the {@code easel-dlq-reason} header */
    public record Unreadable(String reason) implements Decoded {
    }

    public static Decoded decode(Headers headers, byte[] value) {
        if (value == null || value.length == 0) {
            return new Unreadable("record has no value");
        }
        String contentType = header(headers, CONTENT_TYPE);
        if (contentType != null && mediaType(contentType).startsWith(STRUCTURED_PREFIX)) {
            return structured(contentType, value);
        }
        if (header(headers, CE_PREFIX + "specversion") != null || header(headers, CE_PREFIX + "id") != null) {
            return binary(headers, contentType, value);
        }
        if (contentType != null && !isJson(contentType)) {
            return new Unreadable("content-type " + contentType + " is not JSON (expected application/json or a CloudEvent)");
        }
        return jsonObject(value, "record value").map(x -> (Decoded) new Readable(value, Form.PLAIN_JSON));
    }

    private static Decoded binary(Headers headers, String contentType, byte[] value) {
        for (String attribute : new String[] {"specversion", "id", "source", "type"}) {
            String headerValue = header(headers, CE_PREFIX + attribute);
            if (headerValue == null || headerValue.isBlank()) {
                return new Unreadable("binary CloudEvent without the required header " + CE_PREFIX + attribute);
            }
        }
        String version = header(headers, CE_PREFIX + "specversion");
        if (!JobEvents.SPEC_VERSION.equals(version)) {
            return new Unreadable("CloudEvents specversion " + version + " is not supported (expected 1.0)");
        }
        if (contentType != null && !isJson(contentType)) {
            return new Unreadable("binary CloudEvent with content-type " + contentType + " (expected application/json)");
        }
        return jsonObject(value, "CloudEvent data").map(x -> (Decoded) new Readable(value, Form.BINARY_CLOUD_EVENT));
    }

    private static Decoded structured(String contentType, byte[] value) {
        if (!mediaType(contentType).equals(STRUCTURED_PREFIX + "+json")) {
            return new Unreadable("structured CloudEvent format " + contentType + " is not supported (expected application/cloudevents+json)");
        }
        Result envelope = jsonObject(value, "structured CloudEvent");
        if (envelope.failure != null) {
            return envelope.failure;
        }
        JsonNode event = envelope.node;
        for (String attribute : new String[] {"specversion", "id", "source", "type"}) {
            if (!event.path(attribute).isTextual() || event.path(attribute).asText().isBlank()) {
                return new Unreadable("structured CloudEvent without the required attribute " + attribute);
            }
        }
        if (!JobEvents.SPEC_VERSION.equals(event.get("specversion").asText())) {
            return new Unreadable("CloudEvents specversion " + event.get("specversion").asText() + " is not supported (expected 1.0)");
        }
        JsonNode dataContentType = event.get("datacontenttype");
        if (dataContentType != null && !(dataContentType.isTextual() && isJson(dataContentType.asText()))) {
            return new Unreadable("structured CloudEvent with datacontenttype " + dataContentType + " (expected application/json)");
        }
        JsonNode data = event.get("data");
        JsonNode base64 = event.get("data_base64");
        try {
            if (data != null && data.isObject()) {
                return new Readable(JSON.writeValueAsBytes(data), Form.STRUCTURED_CLOUD_EVENT);
            }
            if (data == null && base64 != null && base64.isTextual()) {
                byte[] decoded = Base64.getDecoder().decode(base64.asText());
                return jsonObject(decoded, "CloudEvent data_base64")
                        .map(x -> (Decoded) new Readable(decoded, Form.STRUCTURED_CLOUD_EVENT));
            }
        } catch (IllegalArgumentException e) {
            return new Unreadable("structured CloudEvent data_base64 is not base64: " + e.getMessage());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("re-serialising a parsed tree cannot fail", e);
        }
        return new Unreadable("structured CloudEvent without a JSON object in data (got "
                + (data != null ? data.getNodeType().toString().toLowerCase(Locale.ROOT) : "none") + ")");
    }

    /** A parsed JSON object, or why the bytes are not one. */
    private record Result(JsonNode node, Unreadable failure) {
        Decoded map(java.util.function.Function<JsonNode, Decoded> ok) {
            return failure != null ? failure : ok.apply(node);
        }
    }

    private static Result jsonObject(byte[] bytes, String what) {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            return new Result(null, new Unreadable(what + " is not JSON: " + detail));
        }
        if (node == null || !node.isObject()) {
            return new Result(null, new Unreadable(what + " is JSON but not an object (got "
                    + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase(Locale.ROOT)) + ")"));
        }
        return new Result(node, null);
    }

    private static String header(Headers headers, String key) {
        Header header = headers == null ? null : headers.lastHeader(key);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    /** The media type without parameters, lower case: {@code application/json; charset=utf-8} → {@code application/json}. */
    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
    }

    private static boolean isJson(String contentType) {
        String type = mediaType(contentType);
        return type.equals("application/json") || (type.startsWith("application/") && type.endsWith("+json")
                && !type.startsWith(STRUCTURED_PREFIX));
    }
}
