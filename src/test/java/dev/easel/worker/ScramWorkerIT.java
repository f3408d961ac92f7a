package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.TopicsConfig;
import dev.easel.contract.JobEvents;
import dev.easel.devstack.LocalStack;
import dev.easel.messaging.DeadLetters;
import dev.easel.testing.TestKeys;
import dev.easel.testing.TopicReader;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The worker against a broker that wants SASL/SCRAM-SHA-512 and enforces ACLs. The worker is given
 * only the {@code kafka.security.protocol}, {@code kafka.sasl.mechanism} and
 * {@code kafka.sasl.jaas.config} settings an operator sets (docs/security.md, "Transport"), and its
 * user only the ACLs listed there: every Kafka client in it must log in through them — the jobs
 * channel (a job produced by an authenticated client is answered), the answers producer (events,
 * dead letters), the transactional producer of {@code POST} and {@code DELETE /v1/jobs}, the event
 * feed (a job's live events on its stream) and the cancellation feed (a running job stops). A client
 * without valid credentials gets nothing in.
 */
@QuarkusTest
@WithTestResource(ScramWorkerIT.ScramStack.class)
class ScramWorkerIT {

    static final String JOBS = "easel.jobs";
    static final String EVENTS = "easel.events";
    static final String DEAD_LETTERS = "easel.jobs.dlq";
    static final String CONTROL = "easel.jobs.control";
    static final String GROUP = "easel-workers";
    static final String TRANSACTIONAL_ID_PREFIX = "easel-submissions-";
    private static final String USER = "User:" + LocalStack.KAFKA_USER;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** WorkerStack with a SCRAM broker that enforces ACLs; the topics made and the worker's ACLs granted by its admin. */
    public static final class ScramStack extends WorkerStack {

        @Override
        protected LocalStack.Options stackOptions() {
            return LocalStack.Options.defaults().withKafkaSecurity(LocalStack.KafkaSecurity.SASL_PLAINTEXT)
                    .withKafkaAcls(true);
        }

        @Override
        protected void configure(LocalStack stack, Map<String, String> config) {
            // What an operator sets (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_JAAS_CONFIG).
            config.put("kafka.security.protocol", "SASL_PLAINTEXT");
            config.put("kafka.sasl.mechanism", "SCRAM-SHA-512");
            config.put("kafka.sasl.jaas.config", jaas(LocalStack.KAFKA_USER, LocalStack.KAFKA_PASSWORD));
            config.put("easel.topics.jobs", JOBS);
            config.put("easel.topics.events", EVENTS);
            config.put("easel.topics.dead-letters", DEAD_LETTERS);
            config.put("easel.topics.control", CONTROL);
            try (Admin admin = Admin.create(new HashMap<>(stack.kafkaAdminConfig()))) {
                // The user may not create topics: they exist before the worker, as in production.
                admin.createTopics(List.of(new NewTopic(JOBS, 1, (short) 1), new NewTopic(EVENTS, 1, (short) 1),
                        new NewTopic(DEAD_LETTERS, 1, (short) 1),
                        new NewTopic(CONTROL, 1, (short) 1).configs(Map.of("cleanup.policy", "compact"))))
                        .all().get(30, TimeUnit.SECONDS);
                // Exactly the list in docs/security.md, "Kafka ACLs".
                admin.createAcls(List.of(
                        allow(ResourceType.TOPIC, JOBS, PatternType.LITERAL, AclOperation.READ),
                        allow(ResourceType.TOPIC, JOBS, PatternType.LITERAL, AclOperation.WRITE),
                        // Tenants' own jobs topics (easel.jobs.tenant.<id>): the channel subscribes by pattern.
                        allow(ResourceType.TOPIC, JOBS + ".tenant.", PatternType.PREFIXED, AclOperation.READ),
                        allow(ResourceType.TOPIC, JOBS + ".tenant.", PatternType.PREFIXED, AclOperation.WRITE),
                        allow(ResourceType.GROUP, GROUP, PatternType.LITERAL, AclOperation.READ),
                        allow(ResourceType.TOPIC, EVENTS, PatternType.LITERAL, AclOperation.WRITE),
                        allow(ResourceType.TOPIC, EVENTS, PatternType.LITERAL, AclOperation.READ),
                        allow(ResourceType.TOPIC, DEAD_LETTERS, PatternType.LITERAL, AclOperation.WRITE),
                        allow(ResourceType.TOPIC, CONTROL, PatternType.LITERAL, AclOperation.READ),
                        allow(ResourceType.TOPIC, CONTROL, PatternType.LITERAL, AclOperation.WRITE),
                        allow(ResourceType.TRANSACTIONAL_ID, TRANSACTIONAL_ID_PREFIX, PatternType.PREFIXED,
                                AclOperation.WRITE)))
                        .all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("setting up topics and ACLs: " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private static AclBinding allow(ResourceType type, String name, PatternType pattern, AclOperation operation) {
            return new AclBinding(new ResourcePattern(type, name, pattern),
                    new AccessControlEntry(USER, "*", operation, AclPermissionType.ALLOW));
        }
    }

    private final HttpClient http = HttpClient.newHttpClient();

    @Inject
    TopicsConfig topics;
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;
    @TestHTTPResource("/")
    URI base;

    @Test
    void jobFromAnAuthenticatedClientIsAnsweredAndABadOneDeadLettered() throws Exception {
        assertThat(topics.jobs()).isEqualTo(JOBS);
        String id = "scram-ok-" + UUID.randomUUID();
        produce(client(LocalStack.KAFKA_USER, LocalStack.KAFKA_PASSWORD), JOBS, id, quickJob(id, 64));

        JsonNode completed = JSON.readTree(awaitEvent(id, JobEvents.COMPLETED).value());
        assertThat(completed.at("/images/0/objectKey").asText()).endsWith(id + "/0.png");

        String bad = "scram-bad-" + UUID.randomUUID();
        produce(client(LocalStack.KAFKA_USER, LocalStack.KAFKA_PASSWORD), JOBS, bad, quickJob(bad, 100));
        awaitEvent(bad, JobEvents.FAILED);
        List<ConsumerRecord<byte[], byte[]>> dead = read(DEAD_LETTERS, r -> bad.equals(key(r)), 1, WAIT);
        assertThat(dead).as("the dead letter of %s", bad).singleElement()
                .satisfies(r -> assertThat(header(r, DeadLetters.REASON)).contains("width"));
    }

    @Test
    void httpSubmissionEventStreamAndCancellationAllLogIn() throws Exception {
        // POST: the transactional producer.
        String quick = "scram-post-" + UUID.randomUUID();
        HttpResponse<String> posted = post(quickJob(quick, 64));
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(202);
        awaitEvent(quick, JobEvents.COMPLETED);

        // A job long enough to cancel; its stream's live events come through the event feed.
        String slow = "scram-cancel-" + UUID.randomUUID();
        assertThat(post(slowJob(slow)).statusCode()).isEqualTo(202);
        BlockingQueue<String> stream = openStream(slow);
        String first = stream.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(first).as("the stream's first event").isEqualTo("state");
        List<String> names = new ArrayList<>(List.of(first));
        String live = stream.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(live).as("a live event through the event feed").isIn("started", "progress");
        names.add(live);

        // DELETE: the cancellation goes out through the transactional producer, in through the cancellation feed.
        HttpResponse<String> deleted = http.send(request("v1/jobs/" + slow).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(202);
        long until = System.nanoTime() + WAIT.toNanos();
        while (!Set.of("cancelled", "completed", "failed").contains(names.get(names.size() - 1))
                && System.nanoTime() < until) {
            String next = stream.poll(1, TimeUnit.SECONDS);
            if (next != null) {
                names.add(next);
            }
        }
        assertThat(names.get(names.size() - 1)).as("the stream's events: %s", names).isEqualTo("cancelled");
        awaitEvent(slow, JobEvents.CANCELLED);
    }

    @Test
    void clientsWithoutValidCredentialsGetNothingIn() throws Exception {
        String wrong = "scram-wrong-password-" + UUID.randomUUID();
        Throwable refused = catchThrowable(() -> produce(client(LocalStack.KAFKA_USER, "not-the-password"), JOBS, wrong,
                quickJob(wrong, 64)));
        assertThat(causes(refused)).as("%s", refused).hasAtLeastOneElementOfType(SaslAuthenticationException.class);

        // No SASL at all: the broker closes the connection at the first request that is no SASL handshake.
        String anonymous = "scram-anonymous-" + UUID.randomUUID();
        Map<String, Object> plaintext = new HashMap<>(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        Throwable dropped = catchThrowable(() -> produce(plaintext, JOBS, anonymous, quickJob(anonymous, 64)));
        assertThat(dropped).as("a client without SASL").isNotNull();

        // Logged in, but no ACL for that topic: the broker authorizes, too.
        Throwable unauthorized = catchThrowable(() -> produce(client(LocalStack.KAFKA_USER, LocalStack.KAFKA_PASSWORD),
                "easel.not-granted", "x", new byte[0]));
        assertThat(causes(unauthorized)).as("%s", unauthorized)
                .hasAtLeastOneElementOfType(TopicAuthorizationException.class);

        assertThat(read(JOBS, r -> wrong.equals(key(r)) || anonymous.equals(key(r)), 1, Duration.ofSeconds(2)))
                .as("records of refused clients on %s", JOBS).isEmpty();
        System.out.printf("refused: wrong password: %s; no SASL: %s%n", refused, dropped);
    }

    // ---- helpers ----

    private Map<String, Object> client(String user, String password) {
        Map<String, Object> config = new HashMap<>();
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        config.put(SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-512");
        config.put(SaslConfigs.SASL_JAAS_CONFIG, jaas(user, password));
        return config;
    }

    private static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private static void produce(Map<String, Object> client, String topic, String key, byte[] value) throws Exception {
        Map<String, Object> config = new HashMap<>(client);
        // A refused client fails within seconds rather than the default minute.
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10000);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
        }
    }

    private static List<Throwable> causes(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = failure; t != null && !chain.contains(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }

    private ConsumerRecord<byte[], byte[]> awaitEvent(String jobId, String type) {
        List<ConsumerRecord<byte[], byte[]>> found = read(EVENTS, r -> jobId.equals(key(r)) && type.equals(header(r, "ce_type")),
                1, WAIT);
        assertThat(found).as("%s of %s within %s", type, jobId, WAIT).hasSize(1);
        return found.get(0);
    }

    /** Reads as the broker's admin: the worker's user has no ACL for the test's consumer groups. */
    private List<ConsumerRecord<byte[], byte[]>> read(String topic, Predicate<ConsumerRecord<byte[], byte[]>> wanted,
                                                      int count, Duration within) {
        return new TopicReader(client(LocalStack.KAFKA_ADMIN_USER, LocalStack.KAFKA_ADMIN_PASSWORD))
                .read(topic, wanted, count, within);
    }

    /** The names of the job's server-sent events as they come, read on a thread of their own. */
    private BlockingQueue<String> openStream(String id) throws Exception {
        HttpResponse<Stream<String>> response = http.send(request("v1/jobs/" + id + "/events")
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        BlockingQueue<String> names = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (Stream<String> lines = response.body()) {
                lines.filter(line -> line.startsWith("event:")).forEach(line -> names.add(line.substring(6).strip()));
            }
        }, "scram-it-sse");
        reader.setDaemon(true);
        reader.start();
        return names;
    }

    private HttpResponse<String> post(byte[] job) throws Exception {
        return http.send(request("v1/jobs").POST(HttpRequest.BodyPublishers.ofByteArray(job))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    /** As the default tenant, whose jobs go to the plain jobs topic. */
    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).header(TestKeys.HEADER, TestKeys.DEFAULT);
    }

    private static byte[] quickJob(String id, int width) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\","
                + " \"width\": " + width + ", \"height\": 64, \"steps\": 4, \"scheduler\": \"euler\", \"seed\": 7}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Many steps of the random SD-shaped model at 256×256: seconds of work, time to cancel it. */
    private static byte[] slowJob(String id) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.SLOW_MODEL + "\","
                + " \"prompt\": \"a red circle\", \"width\": 256, \"height\": 256, \"steps\": 150,"
                + " \"scheduler\": \"euler\", \"seed\": 7}").getBytes(StandardCharsets.UTF_8);
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
