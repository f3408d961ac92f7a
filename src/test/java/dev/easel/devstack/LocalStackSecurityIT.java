package dev.easel.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The local stack with its broker secured: SASL/SCRAM-SHA-512 over TLS (a certificate made at
 * start) with ACLs enforced. What the client settings it hands out get, and what a client without
 * them does not. (The worker on a SCRAM broker: {@code dev.easel.worker.ScramWorkerIT}.)
 */
class LocalStackSecurityIT {

    private static final String TOPIC = "easel-secured-it";
    private static LocalStack stack;

    @BeforeAll
    static void startStack() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("target"), "devstack-it-tls-");
        stack = LocalStack.start(dir, LocalStack.Options.defaults()
                .withKafkaSecurity(LocalStack.KafkaSecurity.SASL_SSL).withKafkaAcls(true));
        System.out.printf("secured local stack started in %d ms (%s)%n", stack.startupTime().toMillis(), dir);
        try (Admin admin = Admin.create(new HashMap<>(stack.kafkaAdminConfig()))) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            String user = "User:" + LocalStack.KAFKA_USER;
            admin.createAcls(List.of(
                    new AclBinding(new ResourcePattern(ResourceType.TOPIC, TOPIC, PatternType.LITERAL),
                            new AccessControlEntry(user, "*", AclOperation.WRITE, AclPermissionType.ALLOW)),
                    new AclBinding(new ResourcePattern(ResourceType.TOPIC, TOPIC, PatternType.LITERAL),
                            new AccessControlEntry(user, "*", AclOperation.READ, AclPermissionType.ALLOW)),
                    new AclBinding(new ResourcePattern(ResourceType.GROUP, "easel-it", PatternType.LITERAL),
                            new AccessControlEntry(user, "*", AclOperation.READ, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void scramOverTlsProducesAndConsumes() throws Exception {
        assertThat(stack.kafkaClientConfig()).containsEntry(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, stack.kafkaTruststore().orElseThrow().toString());
        send(stack.kafkaClientConfig(), TOPIC, "over TLS");

        List<ConsumerRecord<String, String>> received = new ArrayList<>();
        Map<String, Object> config = new HashMap<>(stack.kafkaClientConfig());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "easel-it");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (received.isEmpty() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(received::add);
            }
        }
        assertThat(received).extracting(ConsumerRecord::value).contains("over TLS");

        // The same CA as a PEM file (what a Kubernetes Secret usually holds): no trust store password.
        Map<String, String> pem = new HashMap<>(stack.kafkaClientConfig());
        pem.keySet().removeIf(key -> key.startsWith("ssl.truststore."));
        pem.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        pem.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, stack.kafkaCaCertificate().orElseThrow().toString());
        send(pem, TOPIC, "trusting a PEM file");
    }

    @Test
    void clientsWithoutTheRightSettingsAreRefused() {
        Throwable wrongPassword = catchThrowable(() -> send(stack.kafkaClientConfig(LocalStack.KAFKA_USER, "wrong"), TOPIC, "x"));
        assertThat(causes(wrongPassword)).as("%s", wrongPassword).hasAtLeastOneElementOfType(SaslAuthenticationException.class);

        Map<String, String> untrusting = new HashMap<>(stack.kafkaClientConfig());
        untrusting.keySet().removeIf(key -> key.startsWith("ssl.truststore."));
        Throwable untrusted = catchThrowable(() -> send(untrusting, TOPIC, "x"));
        assertThat(causes(untrusted)).as("%s", untrusted).hasAtLeastOneElementOfType(SslAuthenticationException.class);

        Throwable notGranted = catchThrowable(() -> send(stack.kafkaClientConfig(), "easel-not-granted", "x"));
        assertThat(causes(notGranted)).as("%s", notGranted).hasAtLeastOneElementOfType(TopicAuthorizationException.class);
    }

    @Test
    void workerEnvironmentCarriesTheSecuritySettings() {
        Map<String, String> env = stack.workerEnvironment();
        assertThat(env).containsEntry("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
                .containsEntry("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
                .containsEntry("KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12")
                .containsKeys("KAFKA_SASL_JAAS_CONFIG", "KAFKA_SSL_TRUSTSTORE_LOCATION", "KAFKA_SSL_TRUSTSTORE_PASSWORD");
        assertThat(env.get("KAFKA_SASL_JAAS_CONFIG")).contains("username=\"" + LocalStack.KAFKA_USER + "\"");
        // run-local.sh waits for this last line before it reads the others.
        assertThat(List.copyOf(env.keySet())).last().isEqualTo("EASEL_S3_CREATE_BUCKET");
        assertThat(LocalStackMain.shellWord(env.get("KAFKA_SASL_JAAS_CONFIG")))
                .isEqualTo("'" + env.get("KAFKA_SASL_JAAS_CONFIG") + "'");
        assertThat(LocalStackMain.shellWord("127.0.0.1:9092")).isEqualTo("127.0.0.1:9092");
    }

    private static void send(Map<String, String> client, String topic, String value) throws Exception {
        Map<String, Object> config = new HashMap<>(client);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10000);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config, new StringSerializer(),
                new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", value)).get(30, TimeUnit.SECONDS);
        }
    }

    private static List<Throwable> causes(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = failure; t != null && !chain.contains(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }
}
