package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What a storage fault's text tells a job's submitter: not the worker's addresses. */
class EndpointRedactionTest {

    @Test
    void aStoreClientsFaultLosesTheEndpointButKeepsTheJobsObject() {
        String fault = "storage: image 0 failed for PT10M (the retry budget): S3 PUT s3://acme-images/acme/j1/0.png failed:"
                + " Unable to execute HTTP request: Connect to minio.storage.svc.cluster.local:9000"
                + " [minio.storage.svc.cluster.local/10.0.3.7] failed: Connection refused";

        String told = EndpointRedaction.redact(fault);

        assertThat(told).contains("s3://acme-images/acme/j1/0.png").contains("Connection refused")
                .doesNotContain("10.0.3.7").doesNotContain(":9000").doesNotContain("minio").doesNotContain("svc");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            GET https://s3.internal.example:8443/bucket?x=1 timed out | GET <store endpoint> timed out
            Connect to 192.168.1.20:9000 failed | Connect to <store endpoint> failed
            Connect to [fd00::12]:9000 failed | Connect to <store endpoint> failed
            Connect to minio.internal/fd00::1 failed | Connect to <store endpoint> failed
            localhost:4566 refused | <store endpoint> refused
            Unable to execute HTTP request: minio.internal: Name or service not known | Unable to execute HTTP request: <store endpoint>: Name or service not known
            java.net.UnknownHostException: minio.internal | java.net.UnknownHostException: <store endpoint>
            """)
    void urlsAddressesHostPortsAndUnresolvedHostsAreMasked(String text, String told) {
        assertThat(EndpointRedaction.redact(text)).isEqualTo(told);
    }

    /** What is not an address stays: S3's words, times, the job's own keys (dots and colons in them too), words in brackets. */
    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP 503 SlowDown: Please reduce your request rate (request id 4F2A)",
        "deadline passed: 2026-12-07T10:15:30Z came before the job could start",
        "S3 GET s3://b/rel.v1:2024/j1/0.png failed: HTTP 500 [ddim] (request id 7)"})
    void whatIsNotAnAddressStays(String text) {
        assertThat(EndpointRedaction.redact(text)).isEqualTo(text);
        assertThat(EndpointRedaction.redact(null)).isNull();
    }
}
