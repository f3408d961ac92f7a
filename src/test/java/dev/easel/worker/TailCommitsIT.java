package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.testing.TestKeys;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Scaling to zero on consumer lag needs no lag once the jobs are done. A job submitted over HTTP
 * is written in a transaction, whose commit marker follows its record; before {@link TailCommits}
 * the group's offset stopped at the marker, a lag of 1 for ever.
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class TailCommitsIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    @ConfigProperty(name = "easel.topics.jobs", defaultValue = "easel.jobs")
    String jobsTopic;

    @ConfigProperty(name = "mp.messaging.incoming.jobs.group.id")
    String group;

    @Test
    void anHttpSubmittedJobOnceAnsweredLeavesTheGroupNoLag() throws Exception {
        String id = "tail-" + UUID.randomUUID();
        HttpResponse<String> posted = http.send(HttpRequest.newBuilder(base.resolve("v1/jobs"))
                .header(TestKeys.HEADER, TestKeys.DEFAULT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \""
                        + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\", \"width\": 64, \"height\": 64,"
                        + " \"steps\": 2, \"seed\": 7}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(202);
        awaitCompleted(id);

        Map<TopicPartition, Long> lag = Map.of();
        long until = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < until) {
            lag = lag();
            if (!lag.isEmpty() && lag.values().stream().allMatch(l -> l == 0)) {
                break;
            }
            Thread.sleep(500);
        }
        assertThat(lag).as("the group's lag on %s once every job is answered", jobsTopic).isNotEmpty()
                .allSatisfy((tp, l) -> assertThat(l).as(tp.toString()).isZero());
    }

    /** End offset minus the group's committed offset, per partition of the jobs topic that holds anything. */
    private Map<TopicPartition, Long> lag() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            int partitions = admin.describeTopics(java.util.List.of(jobsTopic)).allTopicNames().get().get(jobsTopic)
                    .partitions().size();
            Map<TopicPartition, OffsetSpec> latest = java.util.stream.IntStream.range(0, partitions)
                    .mapToObj(p -> new TopicPartition(jobsTopic, p)).collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
            return admin.listOffsets(latest).all().get().entrySet().stream()
                    .filter(e -> e.getValue().offset() > 0)
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()
                            - (committed.containsKey(e.getKey()) ? committed.get(e.getKey()).offset() : 0)));
        }
    }

    private void awaitCompleted(String id) throws Exception {
        long until = System.nanoTime() + 60_000_000_000L;
        String seen = null;
        while (System.nanoTime() < until) {
            HttpResponse<String> got = http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id))
                    .header(TestKeys.HEADER, TestKeys.DEFAULT).build(), HttpResponse.BodyHandlers.ofString());
            seen = got.statusCode() == 200 ? JSON.readTree(got.body()).path("status").asText() : got.body();
            if ("completed".equals(seen)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " not completed: " + seen);
    }
}
