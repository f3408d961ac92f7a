package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.devstack.LocalStack;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.contract.JobEvents;
import dev.easel.testing.TopicReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Graceful shutdown of the packaged worker (target/quarkus-app, built by {@code package} before the
 * integration tests), each in a child JVM stopped with SIGTERM while it runs a job: with time
 * enough the job is answered and committed; cut off, it is neither, and the next worker runs it.
 */
class ShutdownIT {

    private static final Path RUNNER = Path.of("target", "quarkus-app", "quarkus-run.jar");
    private static final String GROUP = "easel-workers";
    private static final Duration WAIT = Duration.ofSeconds(90);

    private static LocalStack stack;
    private static Path dir;
    private static Path slowBundle;
    private static Path oracleBundle;

    @BeforeAll
    static void start() throws IOException {
        assertThat(RUNNER).as("the packaged worker; run the integration tests with ./mvnw verify").exists();
        dir = Files.createTempDirectory(Path.of("target"), "devstack-it-shutdown-");
        stack = LocalStack.start(dir.resolve("stack"));
        slowBundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        oracleBundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("oracle"));
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void runningJobFinishesWithinTheGracePeriodAndIsCommitted() throws Exception {
        Topics topics = new Topics("graceful");
        String id = "shutdown-ok-" + UUID.randomUUID();
        Worker worker = Worker.start("w1", Duration.ofSeconds(60), topics);

        produce(topics.jobs(), id, job(id, 30));
        awaitEvent(topics, id, JobEvents.PROGRESS);
        int exit = worker.terminate();

        assertThat(events(topics, id, JobEvents.COMPLETED)).singleElement()
                .satisfies(e -> assertThat(header(e, "ce_source")).isEqualTo("/easel/worker/w1"));
        assertThat(events(topics, id, JobEvents.FAILED)).isEmpty();
        assertThat(committed(topics.jobs())).as("the job's offset is committed").isEqualTo(1L);
        assertThat(exit).as(worker.log()).isZero();
        assertThat(worker.log()).contains("running jobs answered");
    }

    @Test
    void jobCutOffAtTheEndOfTheGracePeriodRunsAgainOnTheNextWorker() throws Exception {
        Topics topics = new Topics("cut-off");
        String id = "shutdown-cut-" + UUID.randomUUID();
        Worker first = Worker.start("w2", Duration.ofMillis(200), topics);

        produce(topics.jobs(), id, job(id, 60));
        awaitEvent(topics, id, JobEvents.PROGRESS);
        int exit = first.terminate();

        assertThat(exit).as(first.log()).isZero();
        assertThat(first.log()).contains("cutting off 1 job(s)");
        assertThat(events(topics, id, JobEvents.COMPLETED)).isEmpty();
        assertThat(events(topics, id, JobEvents.FAILED)).as("a cut-off job gets no answer").isEmpty();
        assertThat(committed(topics.jobs())).as("the job's offset is not committed").isIn(null, 0L);
        assertThat(manifestExists(id)).isFalse();

        Worker second = Worker.start("w3", Duration.ofSeconds(60), topics);
        awaitEvent(topics, id, JobEvents.COMPLETED);
        assertThat(second.terminate()).as(second.log()).isZero();

        assertThat(events(topics, id, JobEvents.COMPLETED)).singleElement()
                .satisfies(e -> assertThat(header(e, "ce_source")).isEqualTo("/easel/worker/w3"));
        assertThat(events(topics, id, JobEvents.STARTED)).extracting(e -> header(e, "ce_source"))
                .containsExactly("/easel/worker/w2", "/easel/worker/w3");
        assertThat(events(topics, id, JobEvents.FAILED)).isEmpty();
        assertThat(manifestExists(id)).isTrue();
        assertThat(committed(topics.jobs())).isEqualTo(1L);
    }

    /** Topics of one test, so the tests' records and offsets stay apart. */
    record Topics(String jobs, String events) {
        Topics(String name) {
            this("it-" + name + ".jobs", "it-" + name + ".events");
        }
    }

    /** The packaged worker in a child JVM, its output in a log file beside the stack's. */
    private record Worker(String name, Process process, Path logFile) {

        static Worker start(String name, Duration grace, Topics topics) throws Exception {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Map<String, String> config = Map.ofEntries(
                    Map.entry("quarkus.http.port", "0"),
                    Map.entry("kafka.bootstrap.servers", stack.kafkaBootstrapServers()),
                    Map.entry("easel.topics.jobs", topics.jobs()),
                    Map.entry("easel.topics.events", topics.events()),
                    Map.entry("easel.s3.endpoint", stack.s3Endpoint().toString()),
                    Map.entry("easel.s3.access-key", stack.s3AccessKey()),
                    Map.entry("easel.s3.secret-key", stack.s3SecretKey()),
                    Map.entry("easel.s3.region", stack.s3Region()),
                    Map.entry("easel.s3.bucket", WorkerStack.BUCKET),
                    Map.entry("easel.s3.create-bucket", "true"),
                    Map.entry("easel.models." + WorkerStack.SLOW_MODEL + ".path", slowBundle.toString()),
                    Map.entry("easel.models." + WorkerStack.MODEL + ".path", oracleBundle.toString()),
                    Map.entry("easel.onnx.intra-op-threads", "1"),
                    Map.entry("easel.webhooks.signing-secret", WorkerIT.SIGNING_SECRET),
                    Map.entry("easel.events.instance", name),
                    Map.entry("easel.sse.enabled", "false"),
                    // Shutdown is the subject, not credentials: one team, the default tenant.
                    Map.entry("easel.security.enabled", "false"),
                    Map.entry("easel.worker.shutdown-grace", grace.toMillis() + "ms"));
            List<String> command = new ArrayList<>(List.of(java.toString(), "-Xmx512m",
                    "-XX:ErrorFile=" + dir.toAbsolutePath().resolve("hs_err_" + name + "_%p.log")));
            config.forEach((key, value) -> command.add("-D" + key + "=" + value));
            command.addAll(List.of("-jar", RUNNER.toAbsolutePath().toString()));
            Path log = dir.resolve("worker-" + name + ".log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Worker worker = new Worker(name, process, log);
            worker.awaitLog("started in");
            return worker;
        }

        /** SIGTERM (Process.destroy on Linux), then waits for the exit. */
        int terminate() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("worker " + name + " did not stop within " + WAIT + ":\n" + log());
            }
            return process.exitValue();
        }

        void awaitLog(String text) throws InterruptedException {
            long until = System.nanoTime() + WAIT.toNanos();
            while (!log().contains(text)) {
                if (!process.isAlive() || System.nanoTime() > until) {
                    process.destroyForcibly();
                    throw new AssertionError("worker " + name + " did not log \"" + text + "\":\n" + log());
                }
                Thread.sleep(100);
            }
        }

        String log() {
            try {
                return Files.readString(logFile);
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    private static byte[] job(String id, int steps) {
        return ("{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.SLOW_MODEL + "\","
                + " \"prompt\": \"a red circle\", \"width\": 256, \"height\": 256, \"steps\": " + steps
                + ", \"scheduler\": \"euler\", \"seed\": 7}").getBytes(StandardCharsets.UTF_8);
    }

    private static void produce(String topic, String key, byte[] value) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get();
        }
    }

    /** The group's committed offset of the jobs topic's only partition; null if none. */
    private static Long committed(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                stack.kafkaBootstrapServers()))) {
            OffsetAndMetadata offset = admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition(topic, 0));
            return offset == null ? null : offset.offset();
        }
    }

    private static boolean manifestExists(String id) {
        try (S3Client s3 = S3Client.builder().endpointOverride(stack.s3Endpoint()).region(Region.of(stack.s3Region()))
                .forcePathStyle(true).credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(stack.s3AccessKey(), stack.s3SecretKey()))).build()) {
            // The default tenant's prefix: the packaged worker runs with security off.
            s3.headObject(b -> b.bucket(WorkerStack.BUCKET).key("default/" + id + "/result.json"));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    private static void awaitEvent(Topics topics, String id, String type) {
        List<ConsumerRecord<byte[], byte[]>> found = read(topics.events(), matching(id, type), 1, WAIT);
        assertThat(found).as("%s event of %s within %s", type, id, WAIT).hasSize(1);
    }

    /** The job's events of that type published so far: the topic read up to its end offsets. */
    private static List<ConsumerRecord<byte[], byte[]>> events(Topics topics, String id, String type) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        List<ConsumerRecord<byte[], byte[]>> found = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topics.events()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            long until = System.nanoTime() + WAIT.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p)) && System.nanoTime() < until) {
                consumer.poll(Duration.ofMillis(100)).forEach(r -> {
                    if (matching(id, type).test(r)) {
                        found.add(r);
                    }
                });
            }
        }
        return found;
    }

    private static Predicate<ConsumerRecord<byte[], byte[]>> matching(String id, String type) {
        return r -> r.key() != null && id.equals(new String(r.key(), StandardCharsets.UTF_8))
                && type.equals(header(r, "ce_type"));
    }

    /** Reads the topic from the start until {@code count} wanted records or the time is up. */
    private static List<ConsumerRecord<byte[], byte[]>> read(String topic, Predicate<ConsumerRecord<byte[], byte[]>> wanted,
            int count, Duration within) {
        return new TopicReader(stack.kafkaBootstrapServers()).read(topic, wanted, count, within);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
