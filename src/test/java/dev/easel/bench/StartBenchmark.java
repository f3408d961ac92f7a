package dev.easel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.devstack.LocalStack;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Scale from zero: the packaged worker started again and again on the demo model against the local
 * Kafka and S3Proxy (started once). Per start: process start → {@code /q/health/ready} UP (the
 * model loaded, the consumer running), ready → the first job's {@code completed} event (the job is
 * produced the moment the worker is ready), and the next {@code --jobs} jobs one at a time. Each
 * {@code --variant} (JVM options, or a whole command line with {@code --java}) takes its turn in
 * every round, so machine noise hits all alike; medians over the rounds.
 *
 * <pre>./mvnw package -DskipTests &amp;&amp; ./mvnw test-compile exec:java@start-bench \
 *     -Dexec.args="--rounds 5 --variant= --variant=-XX:TieredStopAtLevel=1;-XX:+UseSerialGC"</pre>
 */
@Command(name = "start-bench", mixinStandardHelpOptions = true, description = "Worker start → ready → first job.")
public final class StartBenchmark implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--rounds", defaultValue = "5", description = "Starts per variant (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--jobs", defaultValue = "20", description = "Jobs after the first, per start (default ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--variant", description = "JVM options of one variant, separated by ';' (or spaces), optionally"
            + " after a java launcher's path and before a worker jar's (repeatable; '' = none). Default: one variant"
            + " with none.")
    List<String> variants;

    @Option(names = "--java", defaultValue = "", description = "The java launcher (default: this JVM's).")
    String launcher;

    @Option(names = "--model", defaultValue = "src/demo-model/bundle", description = "Bundle (default ${DEFAULT-VALUE}).")
    Path model;

    @Option(names = "--jar", defaultValue = "target/quarkus-app/quarkus-run.jar", description = "The worker.")
    Path jar;

    @Option(names = "--cpu-at-ready", description = "Print the worker's CPU time by thread when it is ready (Linux).")
    boolean cpuAtReady;

    public static void main(String[] args) {
        System.exit(new CommandLine(new StartBenchmark()).execute(args));
    }

    /**
     * One start: start → ready, ready → first completed, the first job's worker total and its stages
     * (its completed event's {@code timingsMs}), the median of the next jobs; ms.
     */
    record Start(double ready, double firstJob, double firstTotal, String firstStages, double nextJobs) {
    }

    @Override
    public Integer call() throws Exception {
        List<String> chosen = variants == null || variants.isEmpty() ? List.of("") : variants;
        Path dir = Files.createTempDirectory(Path.of("target"), "start-bench-");
        List<List<Start>> results = new ArrayList<>();
        chosen.forEach(v -> results.add(new ArrayList<>()));
        try (LocalStack stack = LocalStack.start(dir.resolve("stack"));
             KafkaProducer<String, byte[]> producer = WorkerBenchmark.producer(stack);
             KafkaConsumer<String, String> consumer = WorkerBenchmark.consumer(stack)) {
            // The topics exist before a worker starts, as in a deployment (deployment/README.md): a
            // worker never waits for a topic to appear (its pattern subscription would find it only
            // at its next metadata refresh).
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    stack.kafkaBootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("easel.jobs", 1, (short) 1), new NewTopic("easel.events", 1,
                        (short) 1), new NewTopic("easel.jobs.control", 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            }
            consumer.subscribe(List.of("easel.events"));
            // Join the group before anything is timed (the first rebalance takes seconds).
            long joinBy = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (consumer.assignment().isEmpty() && System.nanoTime() < joinBy) {
                consumer.poll(Duration.ofMillis(100));
            }
            int next = 0;
            for (int round = 0; round < rounds; round++) {
                for (int v = 0; v < chosen.size(); v++) {
                    Start s = once(stack, chosen.get(v), dir.resolve("worker-" + v + "-" + round + ".log"), producer,
                            consumer, "start-" + ProcessHandle.current().pid() + "-" + (next += 1000) + "-");
                    results.get(v).add(s);
                    System.out.printf(Locale.ROOT, "round %d, variant %d: ready %.0f ms, first job %.0f ms"
                            + " (worker %s), next jobs p50 %.0f ms%n", round + 1, v + 1, s.ready(), s.firstJob(),
                            s.firstStages(), s.nextJobs());
                }
            }
        }
        System.out.printf(Locale.ROOT, "%nworker on %s, %d starts per variant (medians)%n", model, rounds);
        System.out.println("| variant | start → ready ms | ready → first job completed ms | first job, worker total ms"
                + " | next " + jobs + " jobs, p50 ms |");
        System.out.println("|---|---:|---:|---:|---:|");
        for (int v = 0; v < chosen.size(); v++) {
            List<Start> r = results.get(v);
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %.0f |%n",
                    chosen.get(v).isBlank() ? "(no options)" : "`" + chosen.get(v) + "`",
                    median(r.stream().mapToDouble(Start::ready).toArray()),
                    median(r.stream().mapToDouble(Start::firstJob).toArray()),
                    median(r.stream().mapToDouble(Start::firstTotal).toArray()),
                    median(r.stream().mapToDouble(Start::nextJobs).toArray()));
        }
        return 0;
    }

    private Start once(LocalStack stack, String variant, Path log, KafkaProducer<String, byte[]> producer,
                       KafkaConsumer<String, String> consumer, String idPrefix) throws Exception {
        int port = freePort();
        long t0 = System.nanoTime();
        Process worker = startWorker(stack, variant, port, log);
        try {
            waitReady(port, worker, log);
            double ready = (System.nanoTime() - t0) / 1e6;
            if (cpuAtReady) {
                System.out.println("  CPU by thread at ready: " + ThreadCpu.of(worker.pid()));
            }
            Completed first = runOne(producer, consumer, idPrefix + 0);
            double[] next = new double[jobs];
            for (int i = 0; i < jobs; i++) {
                next[i] = runOne(producer, consumer, idPrefix + (i + 1)).millis();
            }
            return new Start(ready, first.millis(), first.timings().path("total").asDouble(), first.timings().toString(),
                    jobs == 0 ? Double.NaN : median(next));
        } finally {
            worker.destroy();
            worker.waitFor();
        }
    }

    private Process startWorker(LocalStack stack, String variant, int port, Path log) throws IOException {
        String javaBin = launcher.isBlank() ? Path.of(System.getProperty("java.home"), "bin", "java").toString() : launcher;
        List<String> words = variant.isBlank() ? List.of() : Arrays.asList(variant.trim().split("[\\s;]+"));
        // A variant may name its own launcher first (another JDK): "/usr/lib/jvm/jdk-25/bin/java -XX:…".
        if (!words.isEmpty() && words.get(0).endsWith("/java")) {
            javaBin = words.get(0);
            words = words.subList(1, words.size());
        }
        // ... and its own jar last ("… /tmp/base/target/quarkus-app/quarkus-run.jar"): an older build beside this one.
        Path workerJar = jar;
        if (!words.isEmpty() && words.get(words.size() - 1).endsWith(".jar")) {
            workerJar = Path.of(words.get(words.size() - 1));
            words = words.subList(0, words.size() - 1);
        }
        List<String> command = new ArrayList<>(List.of(javaBin));
        command.addAll(words);
        command.addAll(WorkerBenchmark.stackProperties(stack, "demo", model));
        command.addAll(List.of("-Dquarkus.http.port=" + port, "-jar", workerJar.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static void waitReady(int port, Process worker, Path log) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!worker.isAlive()) {
                throw new IllegalStateException("the worker exited with " + worker.exitValue() + " (see " + log + ")");
            }
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notListening) {
                // not up yet
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("not ready within 120 s (see " + log + ")");
    }

    /** One demo job's answer: end to end ms, and the worker's {@code timingsMs}. */
    private record Completed(double millis, JsonNode timings) {
    }

    private static Completed runOne(KafkaProducer<String, byte[]> producer, KafkaConsumer<String, String> consumer,
                                   String id) throws Exception {
        String job = "{\"version\":1,\"id\":\"" + id + "\",\"model\":\"demo\",\"prompt\":\"a big red circle\",\"seed\":1}";
        long start = System.nanoTime();
        ConsumerRecord<String, String> record = WorkerBenchmark.completed(producer, consumer, id, job,
                Duration.ofMillis(20));
        return new Completed((System.nanoTime() - start) / 1e6, JSON.readTree(record.value()).path("timingsMs"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length == 0 ? Double.NaN : sorted[(sorted.length - 1) / 2];
    }
}
