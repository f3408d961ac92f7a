package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.contract.JobRejection;
import dev.easel.contract.Violation;
import dev.easel.contract.JobEvents.Completed;
import dev.easel.contract.JobEvents.Failed;
import dev.easel.contract.JobEvents.Image;
import dev.easel.contract.JobEvents.Progress;
import dev.easel.contract.JobEvents.Started;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The data payloads' exact JSON: the wire format of docs/events.md. */
class JobEventsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Compact JSON text, quotes written as ', so number node types (int or long) do not matter. */
    private static String json(String text) throws Exception {
        return JSON.writeValueAsString(JSON.readTree(text.replace('\'', '"')));
    }

    private static String json(JsonNode node) throws Exception {
        return JSON.writeValueAsString(node);
    }

    @Test
    void started() throws Exception {
        JsonNode metadata = JSON.readTree("{\"user\":\"u1\"}");

        assertThat(json(new Started("sd-1.5", 1234, metadata).toJson()))
                .isEqualTo(json("{'model':'sd-1.5','queueWaitMs':1234,'metadata':{'user':'u1'}}"));
        assertThat(json(new Started("sd-1.5", 0, null).toJson())).isEqualTo(json("{'model':'sd-1.5','queueWaitMs':0}"));
    }

    @Test
    void progress() throws Exception {
        assertThat(json(new Progress(3, 30, null).toJson())).isEqualTo(json("{'step':3,'total':30}"));
    }

    @Test
    void preview() throws Exception {
        JobEvents.Preview preview = new JobEvents.Preview(8, 40, "approx", 64, 64, "default/j1/preview.png",
                "https://s3/images/default/j1/preview.png?X-Amz-Signature=x");
        assertThat(json(preview.toJson())).isEqualTo(json("""
                {'step':8,'total':40,'mode':'approx','width':64,'height':64,'objectKey':'default/j1/preview.png',
                 'url':'https://s3/images/default/j1/preview.png?X-Amz-Signature=x'}"""));
        assertThat(preview.eventType()).isEqualTo("dev.easel.job.preview");
        assertThat(EventKind.PREVIEW.isFinal()).isFalse();
    }

    @Test
    void completed() throws Exception {
        Map<String, Long> timings = new LinkedHashMap<>();
        timings.put("denoise", 900L);
        timings.put("total", 1000L);
        Completed completed = new Completed("images",
                List.of(new Image("jobs/j1/0.png", "https://s3/images/jobs/j1/0.png?X-Amz-Signature=x", 42)),
                "sd-1.5", timings, null);

        assertThat(json(completed.toJson())).isEqualTo(json("""
                {'bucket':'images',
                 'images':[{'objectKey':'jobs/j1/0.png','url':'https://s3/images/jobs/j1/0.png?X-Amz-Signature=x','seed':42}],
                 'modelId':'sd-1.5','timingsMs':{'denoise':900,'total':1000}}"""));
    }

    @Test
    void failedInvalidJobListsViolations() throws Exception {
        JobRejection rejection = new JobRejection(Optional.of("j1"),
                List.of(new Violation("width", "must be a multiple of 8, got 100", "multiple of 8")));

        assertThat(json(Failed.rejected(rejection).toJson())).isEqualTo(json("""
                {'reason':'invalid job: width: must be a multiple of 8, got 100 (limit: multiple of 8)',
                 'violations':[{'field':'width','problem':'must be a multiple of 8, got 100','limit':'multiple of 8'}],
                 'retryable':false}"""));
    }

    @Test
    void failedOtherwiseHasNoViolations() throws Exception {
        assertThat(json(new Failed("storage unavailable", null, true, null).toJson()))
                .isEqualTo(json("{'reason':'storage unavailable','retryable':true}"));
    }

    @Test
    void typesAndSource() {
        assertThat(List.of(new Started("m", 0, null).eventType(), new Progress(1, 2, null).eventType(),
                new Completed("b", List.of(), "m", Map.of(), null).eventType(),
                new Failed("r", null, false, null).eventType()))
                .containsExactly("dev.easel.job.started", "dev.easel.job.progress", "dev.easel.job.completed",
                        "dev.easel.job.failed");
        assertThat(JobEvents.source("worker-7")).hasToString("/easel/worker/worker-7");
    }
}
