package dev.easel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.devstack.LocalStack;
import dev.easel.fixtures.OracleBundle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The worker's own overhead per job: the packaged worker ({@code quarkus-run.jar}) against the
 * local Kafka and S3Proxy, an oracle bundle (generation takes about a millisecond), jobs sent one
 * at a time. For each job: the time from producing the job record to consuming its
 * {@code completed} event, and that minus the generation stages the worker reports (text encode,
 * denoise, decode) — the overhead of Kafka in → PNG → S3 → event out.
 *
 * <p>The measured jobs follow {@code --warmup} unmeasured ones: the JVM compiles the job path (C2)
 * over the first few hundred jobs, and the worker is a long-running process, so its steady state
 * is the figure that counts. The warm-up jobs' end-to-end times are printed too (a cold worker).
 *
 * <pre>./mvnw package -DskipTests &amp;&amp; ./mvnw test-compile exec:java@worker-bench -Dexec.args="--jobs 300"</pre>
 */
@Command(name = "worker-bench", mixinStandardHelpOptions = true, description = "Per-job overhead of the worker.")
public final class WorkerBenchmark implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--jobs", defaultValue = "300", description = "Measured jobs (default ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--warmup", defaultValue = "1000",
            description = "Unmeasured jobs first, about 15 s of traffic at the default (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--worker-jvm", split = " ", description = "Extra JVM options for the worker, space-separated.")
    List<String> workerJvm = List.of();

    @Option(names = "--jar", defaultValue = "target/quarkus-app/quarkus-run.jar", description = "The worker.")
    Path jar;

    public static void main(String[] args) {
        System.exit(new CommandLine(new WorkerBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("target"), "worker-bench-");
        try (LocalStack stack = LocalStack.start(dir.resolve("stack"))) {
            Path bundle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("bundle"));
            Process worker = startWorker(stack, bundle, dir.resolve("worker.log"));
            try (KafkaProducer<String, byte[]> producer = producer(stack);
                 KafkaConsumer<String, String> consumer = consumer(stack)) {
                consumer.subscribe(List.of("easel.events"));
                List<double[]> cold = new ArrayList<>();
                List<double[]> measured = new ArrayList<>();
                Map<String, Double> phaseSums = new LinkedHashMap<>();
                for (int i = 0; i < warmup + jobs; i++) {
                    Map<String, Double> phases = new LinkedHashMap<>();
                    double[] sample = runOne(producer, consumer, "bench-" + ProcessHandle.current().pid() + "-" + i,
                            phases);
                    if (i >= warmup) {
                        measured.add(sample);
                        phases.forEach((phase, ms) -> phaseSums.merge(phase, ms, Double::sum));
                    } else {
                        cold.add(sample);
                    }
                }
                report(cold, measured, phaseSums);
            } finally {
                worker.destroy();
                worker.waitFor();
            }
        }
        return 0;
    }

    private Process startWorker(LocalStack stack, Path bundle, Path log) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(javaBin));
        command.addAll(workerJvm);
        command.addAll(List.of(
                "-Dkafka.bootstrap.servers=" + stack.kafkaBootstrapServers(),
                "-Deasel.s3.endpoint=" + stack.s3Endpoint(),
                "-Deasel.s3.access-key=" + stack.s3AccessKey(),
                "-Deasel.s3.secret-key=" + stack.s3SecretKey(),
                "-Deasel.s3.region=" + stack.s3Region(),
                "-Deasel.s3.create-bucket=true",
                "-Deasel.models.oracle.path=" + bundle,
                "-Deasel.onnx.intra-op-threads=1",
                "-Deasel.webhooks.signing-secret=whsec_" + java.util.Base64.getEncoder()
                        .encodeToString("benchmark-only-secret-32-bytes!!".getBytes(StandardCharsets.UTF_8)),
                "-Dquarkus.http.port=0",
                "-jar", jar.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** One job: [end-to-end ms, overhead ms, worker-reported total ms]. */
    private static double[] runOne(KafkaProducer<String, byte[]> producer, KafkaConsumer<String, String> consumer,
                                   String id, Map<String, Double> phases) throws Exception {
        String job = "{\"version\":1,\"id\":\"" + id + "\",\"model\":\"oracle\",\"prompt\":\"a red circle\","
                + "\"width\":64,\"height\":64,\"steps\":2,\"guidanceScale\":1,\"scheduler\":\"euler\",\"seed\":1}";
        long start = System.nanoTime();
        long sentAtMs = System.currentTimeMillis();
        producer.send(new ProducerRecord<>("easel.jobs", id, job.getBytes(StandardCharsets.UTF_8))).get();
        long deadline = start + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                if (!id.equals(record.key())) {
                    continue;
                }
                String type = header(record, "ce_type");
                if (type.endsWith(".failed")) {
                    throw new IllegalStateException("job " + id + " failed: " + record.value());
                }
                if (type.endsWith(".completed")) {
                    double e2e = (System.nanoTime() - start) / 1e6;
                    long receivedAtMs = System.currentTimeMillis();
                    JsonNode timings = JSON.readTree(record.value()).path("timingsMs");
                    timings.fields().forEachRemaining(f -> phases.put(f.getKey(), f.getValue().asDouble()));
                    // Past the worker's own timings, from the event's record timestamp (its creation; one
                    // clock, whole ms): images stored → event created (the manifest PUT, presigning) and
                    // created → consumed here.
                    phases.put("~answer", (double) (record.timestamp() - sentAtMs - timings.path("queue").asLong()
                            - timings.path("total").asLong()));
                    phases.put("~delivery", (double) (receivedAtMs - record.timestamp()));
                    double generation = timings.path("textEncode").asDouble() + timings.path("denoise").asDouble()
                            + timings.path("decode").asDouble();
                    return new double[] {e2e, e2e - generation, timings.path("total").asDouble()};
                }
            }
        }
        throw new IllegalStateException("no completed event for " + id + " within 120 s (see worker.log)");
    }

    private static String header(ConsumerRecord<String, String> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static KafkaProducer<String, byte[]> producer(LocalStack stack) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<String, String> consumer(LocalStack stack) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "worker-bench");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // A fetch returns as soon as a record arrives (fetch.min.bytes=1), so a long wait costs no
        // latency; a short one made the broker answer empty fetches 200 times a second, CPU that the
        // worker, on the same cores, then lacked.
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 500);
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }

    private void report(List<double[]> cold, List<double[]> samples, Map<String, Double> phaseSums) {
        System.out.printf(Locale.ROOT, "%d jobs (after %d warm-up), 64x64, 2 euler steps, oracle bundle, one at a time%n",
                samples.size(), warmup);
        System.out.println("| per job | p50 ms | p90 ms | p99 ms | max ms |");
        System.out.println("|---|---:|---:|---:|---:|");
        row("end to end (produce → completed event consumed)", samples, 0);
        row("overhead (end to end − text encode, denoise, decode)", samples, 1);
        row("worker-reported total (start → images stored)", samples, 2);
        if (!cold.isEmpty()) {
            row("end to end, the " + cold.size() + " warm-up jobs (a cold worker)", cold, 0);
        }
        // Where the worker's time goes: the mean of each phase of the completed events' timingsMs
        // (whole milliseconds each, so sub-millisecond phases read as fractions of jobs that took 1 ms),
        // then ~answer and ~delivery, read from record timestamps (see runOne).
        StringBuilder means = new StringBuilder("mean timingsMs:");
        phaseSums.forEach((phase, sum) -> means.append(String.format(Locale.ROOT, " %s %.2f", phase, sum / samples.size())));
        System.out.println(means);
    }

    private static void row(String name, List<double[]> samples, int column) {
        double[] values = samples.stream().mapToDouble(s -> s[column]).sorted().toArray();
        System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f |%n", name, percentile(values, 50),
                percentile(values, 90), percentile(values, 99), values[values.length - 1]);
    }

    private static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
