package dev.easel.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The local stack starts, and Kafka and S3 work through the real client libraries. */
class LocalStackIT {

    private static LocalStack stack;

    @BeforeAll
    static void startStack() throws IOException {
        // Under target/, not a JUnit temp dir: the servers' logs stay for a look after a failure.
        Path dir = Files.createTempDirectory(Path.of("target"), "devstack-it-");
        stack = LocalStack.start(dir);
        System.out.printf("local stack started in %d ms (%s)%n", stack.startupTime().toMillis(), dir);
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void kafkaTopicProduceAndConsume() throws ExecutionException, InterruptedException, TimeoutException {
        String topic = "easel-jobs-it";
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }

        RecordMetadata sent;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
            sent = producer.send(new ProducerRecord<>(topic, "job-1", "{\"prompt\":\"a red circle\"}")).get(30, TimeUnit.SECONDS);
        }
        assertThat(sent.offset()).isZero();

        List<ConsumerRecord<String, String>> received = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "easel-it",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName()))) {
            // A group subscription, as the worker will consume: this also exercises the group coordinator.
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (received.isEmpty() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(received::add);
            }
            consumer.commitSync();
        }
        assertThat(received).singleElement().satisfies(record -> {
            assertThat(record.key()).isEqualTo("job-1");
            assertThat(record.value()).isEqualTo("{\"prompt\":\"a red circle\"}");
        });
    }

    @Test
    void s3BucketPutAndGet() {
        byte[] png = "\u0089PNG not really".getBytes(StandardCharsets.ISO_8859_1);
        try (S3Client s3 = s3Client(stack.s3SecretKey())) {
            s3.createBucket(b -> b.bucket("easel-images"));
            s3.putObject(b -> b.bucket("easel-images").key("jobs/job-1/easel-42.png").contentType("image/png"),
                    RequestBody.fromBytes(png));

            assertThat(s3.getObjectAsBytes(b -> b.bucket("easel-images").key("jobs/job-1/easel-42.png")).asByteArray())
                    .isEqualTo(png);
            assertThat(s3.listObjectsV2(b -> b.bucket("easel-images")).contents())
                    .extracting(o -> o.key()).containsExactly("jobs/job-1/easel-42.png");
        }
    }

    @Test
    void wrongSecretKeyIsRejected() {
        try (S3Client s3 = s3Client("not-" + stack.s3SecretKey())) {
            assertThatThrownBy(() -> s3.listBuckets())
                    .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.statusCode()).isEqualTo(403));
        }
    }

    private static S3Client s3Client(String secretKey) {
        return S3Client.builder()
                .endpointOverride(stack.s3Endpoint())
                .region(Region.of(stack.s3Region()))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(stack.s3AccessKey(), secretKey)))
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }
}
