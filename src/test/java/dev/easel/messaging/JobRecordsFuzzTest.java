package dev.easel.messaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.ElementOf;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.messaging.JobRecords.Decoded;
import dev.easel.messaging.JobRecords.Form;
import dev.easel.messaging.JobRecords.Readable;
import dev.easel.messaging.JobRecords.Unreadable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing of {@link JobRecords#decode} with Jazzer (docs/security.md "Fuzzing"):
 * the Kafka headers (content-type and the CloudEvents {@code ce_*} attributes, in any number and
 * order, repeated, with null or arbitrary byte values) and the record value all come from the
 * fuzzer. Whatever they are, decode returns {@link Readable} with a JSON object, or
 * {@link Unreadable} with a reason, and never throws.
 *
 * <p>Seeds: the three accepted forms in {@link #seeds()} (also run as regression cases), and the
 * regression inputs in src/test/resources/dev/easel/messaging/JobRecordsFuzzTestInputs/decode/
 * (in Jazzer's serialisation of the arguments; crashing inputs land there too).
 */
class JobRecordsFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JOB = "{\"version\":1,\"model\":\"sd15\",\"prompt\":\"a cat\"}";

    /** One Kafka header: a key the decoder reads (or one it must ignore), and a value that may be null. */
    record FuzzHeader(@NotNull @ElementOf(strings = {"content-type", "ce_specversion", "ce_id", "ce_source",
        "ce_type", "ce_datacontenttype", "Content-Type", "ce_subject"}) String key, byte[] value) {
    }

    static Stream<Arguments> seeds() {
        String structured = "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/shop\",\"type\":\"t\","
                + "\"datacontenttype\":\"application/json\",\"data\":" + JOB + "}";
        String base64 = "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/shop\",\"type\":\"t\",\"data_base64\":\""
                + Base64.getEncoder().encodeToString(bytes(JOB)) + "\"}";
        List<FuzzHeader> binary = List.of(header("ce_specversion", "1.0"), header("ce_id", "e-1"),
                header("ce_source", "/shop"), header("ce_type", "dev.easel.job.submitted"),
                header("content-type", "application/json; charset=UTF-8"));
        return Stream.of(
                Arguments.of(List.of(), bytes(JOB)),
                Arguments.of(List.of(header("content-type", "application/json")), bytes(JOB)),
                Arguments.of(binary, bytes(JOB)),
                Arguments.of(List.of(header("content-type", "application/cloudevents+json; charset=UTF-8")),
                        bytes(structured)),
                Arguments.of(List.of(header("content-type", "application/cloudevents+json")), bytes(base64)));
    }

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "5m")
    @Timeout(10) // per input: Jazzer passes it to libFuzzer (-timeout); the fuzz-* runs turn off JUnit's own
    void decode(@NotNull List<@NotNull FuzzHeader> headers, byte[] value) {
        Headers kafka = new RecordHeaders();
        for (FuzzHeader h : headers) {
            kafka.add(h.key(), h.value());
        }
        check(JobRecords.decode(kafka, value), value);
        if (headers.isEmpty()) {
            check(JobRecords.decode(null, value), value);
        }
    }

    private static void check(Decoded decoded, byte[] value) {
        assertNotNull(decoded);
        if (decoded instanceof Unreadable unreadable) {
            assertTrue(unreadable.reason() != null && !unreadable.reason().isBlank(), "Unreadable without a reason");
            return;
        }
        Readable readable = (Readable) decoded;
        assertNotNull(readable.form());
        if (readable.form() != Form.STRUCTURED_CLOUD_EVENT) {
            // Not parsed again here: whether Jackson accepts some invalid UTF-8 in a field name
            // depends on the names its parser has seen before (docs/security.md "Fuzzing").
            assertEquals(value, readable.json(), "plain and binary forms pass the value through");
            return;
        }
        try {
            assertTrue(JSON.readTree(readable.json()).isObject(), "Readable whose json is not a JSON object");
        } catch (IOException e) {
            throw new AssertionError("structured CloudEvent data re-serialised into something that does not parse", e);
        }
    }

    private static FuzzHeader header(String key, String value) {
        return new FuzzHeader(key, bytes(value));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
