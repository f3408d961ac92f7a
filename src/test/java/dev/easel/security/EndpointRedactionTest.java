package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

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

    @Test
    void urlsAddressesAndHostPortsAreMasked() {
        assertThat(EndpointRedaction.redact("GET https://s3.internal.example:8443/bucket?x=1 timed out"))
                .isEqualTo("GET <store endpoint> timed out");
        assertThat(EndpointRedaction.redact("Connect to 192.168.1.20:9000 failed")).isEqualTo("Connect to <store endpoint> failed");
        assertThat(EndpointRedaction.redact("Connect to [fd00::12]:9000 failed")).isEqualTo("Connect to <store endpoint> failed");
        assertThat(EndpointRedaction.redact("localhost:4566 refused")).isEqualTo("<store endpoint> refused");
        assertThat(EndpointRedaction.redact("HTTP 503 SlowDown: Please reduce your request rate (request id 4F2A)"))
                .isEqualTo("HTTP 503 SlowDown: Please reduce your request rate (request id 4F2A)");
        assertThat(EndpointRedaction.redact("deadline passed: 2026-12-07T10:15:30Z came before the job could start"))
                .isEqualTo("deadline passed: 2026-12-07T10:15:30Z came before the job could start");
        assertThat(EndpointRedaction.redact("Connect to minio.internal/fd00::1 failed"))
                .isEqualTo("Connect to <store endpoint> failed");
        assertThat(EndpointRedaction.redact("Unable to execute HTTP request: minio.internal: Name or service not known"))
                .isEqualTo("Unable to execute HTTP request: <store endpoint>: Name or service not known");
        assertThat(EndpointRedaction.redact("java.net.UnknownHostException: minio.internal"))
                .isEqualTo("java.net.UnknownHostException: <store endpoint>");
        // What is not an address stays: the job's own keys (dots and colons in them too), words in brackets.
        assertThat(EndpointRedaction.redact("S3 GET s3://b/rel.v1:2024/j1/0.png failed: HTTP 500 [ddim] (request id 7)"))
                .isEqualTo("S3 GET s3://b/rel.v1:2024/j1/0.png failed: HTTP 500 [ddim] (request id 7)");
        assertThat(EndpointRedaction.redact(null)).isNull();
    }
}
