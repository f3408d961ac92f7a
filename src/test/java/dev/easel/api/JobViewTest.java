package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.Violation;
import dev.easel.messaging.JobRecords;
import dev.easel.contract.JobStatus;
import dev.easel.contract.Manifest;
import jakarta.ws.rs.core.MultivaluedHashMap;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** The API's mapping of store records to answers, and of HTTP CloudEvents to the Kafka binding. */
class JobViewTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void queuedCarriesOnlyIdStatusAndUrl() {
        JsonNode view = JSON.valueToTree(JobView.queued("j1"));

        assertThat(view).isEqualTo(JSON.createObjectNode().put("id", "j1").put("status", "queued")
                .put("statusUrl", "/v1/jobs/j1"));
    }

    @Test
    void completedListsPresignedImagesInOrder() {
        Manifest manifest = new Manifest("j1", "sd", "b", List.of(new Manifest.StoredImage("j1/0.png", 7),
                new Manifest.StoredImage("j1/1.png", 8)), 7, false, "euler", Map.of("total", 5L), null, "2030-01-01T00:00:00Z", null, null, null);

        JsonNode view = JSON.valueToTree(JobView.completed(manifest, key -> "https://s3/" + key + "?sig"));

        assertThat(view.path("status").asText()).isEqualTo("completed");
        assertThat(view.at("/images/1/url").asText()).isEqualTo("https://s3/j1/1.png?sig");
        assertThat(view.at("/images/1/seed").asLong()).isEqualTo(8);
        assertThat(view.path("model").asText()).isEqualTo("sd");
        assertThat(view.has("reason")).isFalse();
        assertThat(view.at("/images/0").has("clipScore")).as("no CLIP asked, no score").isFalse();
    }

    @Test
    void completedCarriesEachImagesClipScore() {
        Manifest manifest = new Manifest("j1", "sd", "b", List.of(new Manifest.StoredImage("j1/0.png", 7, 31.5),
                new Manifest.StoredImage("j1/1.png", 8, 27.25)), 7, false, "euler", Map.of("total", 5L), null,
                "2030-01-01T00:00:00Z", null, null, null);

        JsonNode view = JSON.valueToTree(JobView.completed(manifest, key -> "https://s3/" + key + "?sig"));

        assertThat(view.at("/images/0/clipScore").asDouble()).isEqualTo(31.5);
        assertThat(view.at("/images/1/clipScore").asDouble()).isEqualTo(27.25);
    }

    @Test
    void failedCarriesReasonAndViolations() {
        JobStatus failed = new JobStatus(JobStatus.FAILED, "unknown model", List.of(new Violation("model", "no", "one of x")),
                false, "2030-01-01T00:00:00Z", null);

        JsonNode view = JSON.valueToTree(JobView.of("j2", failed));

        assertThat(view.path("status").asText()).isEqualTo("failed");
        assertThat(view.path("reason").asText()).isEqualTo("unknown model");
        assertThat(view.at("/violations/0/field").asText()).isEqualTo("model");
        assertThat(view.path("retryable").asBoolean(true)).isFalse();
    }

    @Test
    void httpCloudEventHeadersBecomeKafkaOnes() {
        MultivaluedHashMap<String, String> http = new MultivaluedHashMap<>();
        http.add("Ce-Specversion", "1.0");
        http.add("ce-time", "2030-01-01T00:00:00Z");
        http.add("Content-Type", "application/json");
        http.add("Accept", "*/*");

        Headers headers = PushResource.recordHeaders(http);

        assertThat(new String(headers.lastHeader("ce_specversion").value(), StandardCharsets.UTF_8)).isEqualTo("1.0");
        assertThat(headers.lastHeader("content-type")).isNotNull();
        assertThat(headers.lastHeader("accept")).isNull();
        assertThat(PushResource.sentAt(JobRecords.Form.BINARY_CLOUD_EVENT, headers, new byte[0]))
                .contains(Instant.parse("2030-01-01T00:00:00Z"));
    }

    @Test
    void structuredEventTimeIsRead() {
        byte[] event = "{\"time\": \"2030-01-01T01:00:00+01:00\"}".getBytes(StandardCharsets.UTF_8);

        assertThat(PushResource.sentAt(JobRecords.Form.STRUCTURED_CLOUD_EVENT, new RecordHeaders(), event))
                .contains(Instant.parse("2030-01-01T00:00:00Z"));
    }

    /** A pushed event's identity, which its sender's redeliveries repeat: source and id, in either binding. */
    @Test
    void anEventsIdentityIsItsSourceAndId() {
        Headers binary = new RecordHeaders();
        binary.add("ce_source", "/kafka#easel.jobs".getBytes(StandardCharsets.UTF_8));
        binary.add("ce_id", "partition:0/offset:7".getBytes(StandardCharsets.UTF_8));
        byte[] structured = "{\"source\": \"/s\", \"id\": \"e1\"}".getBytes(StandardCharsets.UTF_8);

        assertThat(PushResource.identity(JobRecords.Form.BINARY_CLOUD_EVENT, binary, new byte[0]))
                .contains("/kafka#easel.jobs#partition:0/offset:7");
        assertThat(PushResource.identity(JobRecords.Form.STRUCTURED_CLOUD_EVENT, new RecordHeaders(), structured))
                .contains("/s#e1");
        assertThat(PushResource.identity(JobRecords.Form.STRUCTURED_CLOUD_EVENT, new RecordHeaders(),
                "{\"source\": \"/s\"}".getBytes(StandardCharsets.UTF_8))).as("no id").isEmpty();
    }
}
