package dev.easel.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.util.Map;
import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.Level;
import org.junit.jupiter.api.Test;

class JsonLogFormatterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonLogFormatter formatter = new JsonLogFormatter();

    @Test
    void recordIsOneLineOfJsonWithTheJobFromTheMdc() throws IOException {
        ExtLogRecord record = record(Level.INFO, "job %s completed: \"quoted\"\nsecond line\ttab \u0001", "j-1");
        record.setMdc(Map.of(LogContext.JOB_ID, "j-1", LogContext.MODEL, "sd15"));

        String line = formatter.format(record);

        assertThat(line).endsWith("\n");
        assertThat(line.substring(0, line.length() - 1)).doesNotContain("\n", "\t", "\u0001");
        JsonNode json = JSON.readTree(line);
        assertThat(json.path("timestamp").asText()).isEqualTo("2030-01-02T03:04:05.678Z");
        assertThat(json.path("level").asText()).isEqualTo("INFO");
        assertThat(json.path("logger").asText()).isEqualTo("dev.easel.worker.JobProcessor");
        assertThat(json.path("message").asText()).isEqualTo("job j-1 completed: \"quoted\"\nsecond line\ttab \u0001");
        assertThat(json.path("thread").asText()).isEqualTo("easel-jobs-1");
        assertThat(json.path("jobId").asText()).isEqualTo("j-1");
        assertThat(json.path("model").asText()).isEqualTo("sd15");
        assertThat(json.has("exception")).isFalse();
        assertThat(json.has("stackTrace")).isFalse();
    }

    @Test
    void throwableGivesItsSummaryAndWholeStackTrace() throws IOException {
        ExtLogRecord record = record(Level.ERROR, "job %s failed", "j-2");
        record.setThrown(new IllegalStateException("outer", new IOException("disk \"full\"")));

        JsonNode json = JSON.readTree(formatter.format(record));

        assertThat(json.path("level").asText()).isEqualTo("ERROR");
        assertThat(json.path("message").asText()).isEqualTo("job j-2 failed");
        assertThat(json.path("exception").asText()).isEqualTo("java.lang.IllegalStateException: outer");
        assertThat(json.path("stackTrace").asText())
                .startsWith("java.lang.IllegalStateException: outer" + System.lineSeparator() + "\tat ")
                .contains("Caused by: java.io.IOException: disk \"full\"")
                .doesNotEndWith("\n");
    }

    @Test
    void mdcKeyNamedLikeAFixedFieldDoesNotReplaceIt() throws IOException {
        ExtLogRecord record = record(Level.WARN, "plain", null);
        record.setMdc(Map.of("message", "from the MDC"));

        JsonNode json = JSON.readTree(formatter.format(record));

        assertThat(json.path("message").asText()).isEqualTo("plain");
        assertThat(json.path("mdc.message").asText()).isEqualTo("from the MDC");
        assertThat(json.has(LogContext.JOB_ID)).isFalse();
    }

    private static ExtLogRecord record(Level level, String format, Object arg) {
        ExtLogRecord record = new ExtLogRecord(level, format, ExtLogRecord.FormatStyle.PRINTF,
                JsonLogFormatterTest.class.getName());
        record.setParameters(arg == null ? new Object[0] : new Object[] {arg});
        record.setLoggerName("dev.easel.worker.JobProcessor");
        record.setInstant(Instant.parse("2030-01-02T03:04:05.678Z"));
        record.setThreadName("easel-jobs-1");
        record.setMdc(Map.of());
        return record;
    }
}
