package dev.easel.observe;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jboss.logmanager.ExtFormatter;
import org.jboss.logmanager.ExtLogRecord;

/**
 * One log record as one line of JSON: {@code timestamp} (ISO-8601, UTC), {@code level},
 * {@code logger}, {@code message}, {@code thread}, then every MDC entry as a field of its own
 * ({@value LogContext#JOB_ID} and {@value LogContext#MODEL} while a job runs), and for a record with
 * a throwable {@code exception} (its class and message) and {@code stackTrace} (as printed, causes
 * included). Jackson writes the strings, so quotes, newlines and control characters are escaped and
 * a line never breaks. Field names in docs/observability.md.
 */
public final class JsonLogFormatter extends ExtFormatter {

    private static final JsonFactory JSON = new JsonFactory();
    private static final Set<String> FIXED = Set.of("timestamp", "level", "logger", "message", "thread", "exception",
            "stackTrace");

    @Override
    public String format(ExtLogRecord record) {
        StringWriter line = new StringWriter(256);
        try (JsonGenerator json = JSON.createGenerator(line)) {
            json.writeStartObject();
            json.writeStringField("timestamp", DateTimeFormatter.ISO_INSTANT.format(record.getInstant()));
            json.writeStringField("level", record.getLevel().getName());
            json.writeStringField("logger", record.getLoggerName());
            json.writeStringField("message", record.getFormattedMessage());
            json.writeStringField("thread", record.getThreadName());
            // Sorted, so a job's lines read alike; an MDC key that would shadow a fixed field is prefixed.
            for (Map.Entry<String, String> entry : new TreeMap<>(record.getMdcCopy()).entrySet()) {
                String key = FIXED.contains(entry.getKey()) ? "mdc." + entry.getKey() : entry.getKey();
                json.writeStringField(key, entry.getValue());
            }
            Throwable thrown = record.getThrown();
            if (thrown != null) {
                json.writeStringField("exception", thrown.toString());
                json.writeStringField("stackTrace", stackTrace(thrown));
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("a StringWriter does not fail", e);
        }
        return line.append('\n').toString();
    }

    private static String stackTrace(Throwable thrown) {
        StringWriter trace = new StringWriter(2048);
        try (PrintWriter out = new PrintWriter(trace)) {
            thrown.printStackTrace(out);
        }
        return trace.toString().stripTrailing();
    }
}
