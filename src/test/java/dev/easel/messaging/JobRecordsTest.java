package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.messaging.JobRecords.Form;
import dev.easel.messaging.JobRecords.Readable;
import dev.easel.messaging.JobRecords.Unreadable;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class JobRecordsTest {

    private static final String JOB = "{\"version\":1,\"model\":\"sd\",\"prompt\":\"a red circle\"}";

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Headers headers(String... keyValues) {
        Headers headers = new RecordHeaders();
        for (int i = 0; i < keyValues.length; i += 2) {
            headers.add(keyValues[i], bytes(keyValues[i + 1]));
        }
        return headers;
    }

    private static Headers binaryCe(String... more) {
        Headers headers = headers("ce_specversion", "1.0", "ce_id", "e-1", "ce_source", "/shop", "ce_type", "dev.easel.job.submitted");
        Headers extra = headers(more);
        extra.forEach(headers::add);
        return headers;
    }

    private static String reason(JobRecords.Decoded decoded) {
        assertThat(decoded).isInstanceOf(Unreadable.class);
        return ((Unreadable) decoded).reason();
    }

    private static void assertJob(JobRecords.Decoded decoded, Form form) {
        assertThat(decoded).isInstanceOf(Readable.class);
        Readable readable = (Readable) decoded;
        assertThat(readable.form()).isEqualTo(form);
        assertThat(new String(readable.json(), StandardCharsets.UTF_8)).isEqualTo(JOB);
    }

    @Test
    void plainJson() {
        assertJob(JobRecords.decode(new RecordHeaders(), bytes(JOB)), Form.PLAIN_JSON);
        assertJob(JobRecords.decode(headers("content-type", "application/json; charset=UTF-8"), bytes(JOB)), Form.PLAIN_JSON);
    }

    @Test
    void binaryCloudEvent() {
        assertJob(JobRecords.decode(binaryCe("content-type", "application/json"), bytes(JOB)), Form.BINARY_CLOUD_EVENT);
        assertJob(JobRecords.decode(binaryCe(), bytes(JOB)), Form.BINARY_CLOUD_EVENT);
    }

    @Test
    void structuredCloudEvent() {
        String event = "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/shop\",\"type\":\"t\","
                + "\"datacontenttype\":\"application/json\",\"data\":" + JOB + "}";

        assertJob(JobRecords.decode(headers("content-type", "application/cloudevents+json; charset=UTF-8"), bytes(event)),
                Form.STRUCTURED_CLOUD_EVENT);
    }

    @Test
    void structuredCloudEventWithBase64Data() {
        String event = "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"/shop\",\"type\":\"t\",\"data_base64\":\""
                + Base64.getEncoder().encodeToString(bytes(JOB)) + "\"}";

        assertJob(JobRecords.decode(headers("content-type", "application/cloudevents+json"), bytes(event)),
                Form.STRUCTURED_CLOUD_EVENT);
    }

    @Test
    void emptyOrNotJson() {
        assertThat(reason(JobRecords.decode(new RecordHeaders(), null))).isEqualTo("record has no value");
        assertThat(reason(JobRecords.decode(new RecordHeaders(), new byte[0]))).isEqualTo("record has no value");
        assertThat(reason(JobRecords.decode(new RecordHeaders(), bytes("{\"version\":1,")))).startsWith("record value is not JSON");
        assertThat(reason(JobRecords.decode(new RecordHeaders(), bytes("[1,2]"))))
                .isEqualTo("record value is JSON but not an object (got array)");
        assertThat(reason(JobRecords.decode(new RecordHeaders(), new byte[] {(byte) 0xc3, 0x28})))
                .startsWith("record value is not JSON");
    }

    @Test
    void otherContentTypes() {
        assertThat(reason(JobRecords.decode(headers("content-type", "application/avro"), bytes(JOB))))
                .contains("content-type application/avro is not JSON");
        assertThat(reason(JobRecords.decode(headers("content-type", "application/cloudevents-batch+json"), bytes("[]"))))
                .contains("not supported");
        assertThat(reason(JobRecords.decode(binaryCe("content-type", "text/plain"), bytes(JOB))))
                .contains("content-type text/plain");
    }

    @Test
    void incompleteOrWrongBinaryCloudEvent() {
        assertThat(reason(JobRecords.decode(headers("ce_specversion", "1.0", "ce_id", "e", "ce_type", "t"), bytes(JOB))))
                .isEqualTo("binary CloudEvent without the required header ce_source");
        assertThat(reason(JobRecords.decode(headers("ce_specversion", "0.3", "ce_id", "e", "ce_source", "/s", "ce_type", "t"),
                bytes(JOB)))).contains("specversion 0.3 is not supported");
        assertThat(reason(JobRecords.decode(binaryCe(), bytes("\"a string\"")))).contains("CloudEvent data is JSON but not an object");
    }

    @Test
    void badStructuredCloudEvents() {
        Headers structured = headers("content-type", "application/cloudevents+json");
        assertThat(reason(JobRecords.decode(structured, bytes("{\"specversion\":\"1.0\",\"id\":\"e\",\"type\":\"t\",\"data\":{}}"))))
                .isEqualTo("structured CloudEvent without the required attribute source");
        assertThat(reason(JobRecords.decode(structured,
                bytes("{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"data\":\"text\"}"))))
                .isEqualTo("structured CloudEvent without a JSON object in data (got string)");
        assertThat(reason(JobRecords.decode(structured,
                bytes("{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"datacontenttype\":\"text/xml\",\"data\":{}}"))))
                .contains("datacontenttype");
        assertThat(reason(JobRecords.decode(structured,
                bytes("{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"data_base64\":\"!!\"}"))))
                .contains("not base64");
        assertThat(reason(JobRecords.decode(structured, bytes("not json")))).startsWith("structured CloudEvent is not JSON");
    }
}
