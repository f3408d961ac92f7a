package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.messaging.JobRecords;
import jakarta.ws.rs.core.MultivaluedHashMap;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.Test;

/** Push mode without a credential: whose job an event is comes from what its KafkaSource set, never its source. */
class PushResourceTest {

    private static final byte[] JOB = "{\"version\":1,\"model\":\"m\",\"prompt\":\"p\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void aBinaryEventsTenantTopicIsTheExtensionItsKafkaSourceSets() {
        Headers headers = headers("ce-source", "/apis/v1/namespaces/easel/kafkasources/acme#easel.jobs.tenant.acme",
                "ce-easeltopic", "easel.jobs.tenant.acme");

        assertThat(PushResource.topic(JobRecords.Form.BINARY_CLOUD_EVENT, headers, JOB)).contains("easel.jobs.tenant.acme");
    }

    /** A producer writing CloudEvents to the default topic chooses their source: it names no tenant. */
    @Test
    void aSourceNamingATopicIsNoTenant() {
        Headers headers = headers("ce-source", "/forged#easel.jobs.tenant.victim");

        assertThat(PushResource.topic(JobRecords.Form.BINARY_CLOUD_EVENT, headers, JOB)).isEmpty();
        assertThat(PushResource.topic(JobRecords.Form.BINARY_CLOUD_EVENT, headers("ce-easeltopic", ""), JOB)).isEmpty();
    }

    /**
     * Whose job a push is: the caller's, whatever topic the event names; without a caller, the
     * named topic's tenant only where a push needs no credential (the KafkaSource's deliveries).
     */
    @Test
    void aPushIsTheCallersJobAndTheTopicsOnlyWhereNoCredentialIsNeeded() {
        dev.easel.security.Tenants tenants = new dev.easel.security.Tenants(false, java.util.Map.of(), "images",
                "easel.jobs", java.util.Optional.empty());
        Headers headers = headers("ce-easeltopic", "easel.jobs");
        dev.easel.security.Tenant byDefault = tenants.byId(dev.easel.security.Tenants.DEFAULT).orElseThrow();
        dev.easel.security.Caller caller = new dev.easel.security.Caller(byDefault, "key",
                dev.easel.security.Caller.Credential.API_KEY);
        java.util.Optional<String> topic = PushResource.topic(JobRecords.Form.BINARY_CLOUD_EVENT, headers, JOB);

        assertThat(PushResource.tenant(java.util.Optional.of(caller), topic, tenants)).contains(byDefault);
        // No credential needed (push-needs-credential=false): the topic the KafkaSource names.
        assertThat(PushResource.tenant(java.util.Optional.empty(), topic, tenants)).contains(byDefault);
        // A credential needed: the topic is not looked at (PushResource passes none), so no tenant.
        assertThat(PushResource.tenant(java.util.Optional.empty(), java.util.Optional.empty(), tenants)).isEmpty();
    }

    @Test
    void aStructuredEventsTenantTopicIsItsExtensionMember() {
        byte[] event = ("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/x#easel.jobs.tenant.victim\",\"type\":\"t\","
                + "\"easeltopic\":\"easel.jobs\",\"data\":{}}").getBytes(StandardCharsets.UTF_8);

        assertThat(PushResource.topic(JobRecords.Form.STRUCTURED_CLOUD_EVENT, headers(), event)).isEqualTo(Optional.of("easel.jobs"));
    }

    private static Headers headers(String... namesAndValues) {
        MultivaluedHashMap<String, String> http = new MultivaluedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            http.add(namesAndValues[i], namesAndValues[i + 1]);
        }
        return PushResource.recordHeaders(http);
    }
}
