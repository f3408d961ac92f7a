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
import java.util.Optional;
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
 * <p>The measured jobs follow unmeasured ones: at least {@code --warmup}, then more until the
 * worker's JIT compilers have gone quiet ({@link JitMeter}). The job path — the AWS SDK's request
 * pipeline, the Kafka clients, Mutiny, Jackson — is large, and C2 compiles it over several thousand
 * jobs while taking half a core from the broker and the store; the worker is a long-running
 * process, so its steady state is the figure that counts. The warm-up is printed too, block by
 * block (a cold worker), and {@code --gap-ms} shows a worker fed more slowly than it can go.
 *
 * <pre>./mvnw package -DskipTests &amp;&amp; ./mvnw test-compile exec:java@worker-bench -Dexec.args="--jobs 300"</pre>
 */
@Command(name = "worker-bench", mixinStandardHelpOptions = true, description = "Per-job overhead of the worker.")
public final class WorkerBenchmark implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Jobs per block of the warm-up curve and of the JIT check. */
    static final int BLOCK = 250;

    @Option(names = "--jobs", defaultValue = "300", description = "Measured jobs (default ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--warmup", defaultValue = "1000",
            description = "Unmeasured jobs first, at least (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--jit-quiet", defaultValue = "5",
            description = "Then more, in blocks of " + BLOCK + " jobs, until the worker's JIT compilers used less than"
                    + " this % of one core over two blocks in a row (default ${DEFAULT-VALUE}; Linux only, elsewhere"
                    + " --warmup alone; 100 turns it off).")
    double jitQuiet;

    @Option(names = "--max-warmup", defaultValue = "20000",
            description = "Measure anyway after this many warm-up jobs, saying the JIT was not quiet (default ${DEFAULT-VALUE}).")
    int maxWarmup;

    @Option(names = "--gap-ms", defaultValue = "0",
            description = "Idle time between jobs, as a worker fed more slowly than it can go (default ${DEFAULT-VALUE}).")
    long gapMs;

    @Option(names = "--worker-jvm", split = " ", description = "Extra JVM options for the worker, space-separated.")
    List<String> workerJvm = List.of();

    @Option(names = "--jar", defaultValue = "target/quarkus-app/quarkus-run.jar", description = "The worker.")
    Path jar;

    @Option(names = "--java", defaultValue = "", description = "The worker's java launcher (default: this JVM's).")
    String launcher;

    /** The cold jobs the goal names: jobs 1–300 of a fresh worker against its steady state. */
    static final int COLD_JOBS = 300;

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
                Traffic traffic = new Traffic(producer, consumer, "bench-" + ProcessHandle.current().pid() + "-",
                        JitMeter.of(worker.pid()));
                List<Block> blocks = new ArrayList<>();
                // C2 goes quiet for a block now and then long before it is done: two blocks in a row.
                boolean metered = traffic.jit().isPresent() && jitQuiet < 100;
                int quietBlocks = 0;
                int done = 0;
                while (done < warmup || (metered && quietBlocks < 2 && done < maxWarmup)) {
                    Block block = traffic.run(done < warmup ? Math.min(BLOCK, warmup - done) : BLOCK, new LinkedHashMap<>());
                    blocks.add(block);
                    done += block.samples().size();
                    quietBlocks = block.jitShare() * 100 < jitQuiet ? quietBlocks + 1 : 0;
                }
                Map<String, Double> phaseSums = new LinkedHashMap<>();
                Block steady = traffic.run(jobs, phaseSums);
                report(new Warmup(blocks, !metered || quietBlocks >= 2), steady, phaseSums);
            } finally {
                worker.destroy();
                worker.waitFor();
            }
        }
        return 0;
    }

    /** Jobs in a row: their samples, and the share of one core the worker's JIT took meanwhile (NaN: unknown). */
    record Block(List<double[]> samples, double jitShare) {
    }

    /** What came before the measured jobs; {@code quiet}: the JIT had gone quiet, or was not metered. */
    record Warmup(List<Block> blocks, boolean quiet) {

        List<double[]> samples() {
            return blocks.stream().flatMap(block -> block.samples().stream()).toList();
        }
    }

    /** Where the benchmark sends its jobs and reads their events, and what it meters meanwhile. */
    private final class Traffic {

        private final KafkaProducer<String, byte[]> producer;
        private final KafkaConsumer<String, String> consumer;
        private final String idPrefix;
        private final Optional<JitMeter> jit;
        /** Every job a fresh id: a repeated one would find its manifest and take the duplicate path. */
        private int next;

        Traffic(KafkaProducer<String, byte[]> producer, KafkaConsumer<String, String> consumer, String idPrefix,
                Optional<JitMeter> jit) {
            this.producer = producer;
            this.consumer = consumer;
            this.idPrefix = idPrefix;
            this.jit = jit;
        }

        Optional<JitMeter> jit() {
            return jit;
        }

        /** Runs {@code count} jobs one at a time, adding their phases to {@code phaseSums}. */
        Block run(int count, Map<String, Double> phaseSums) throws Exception {
            Map<String, Long> jitBefore = jit.map(JitMeter::snapshot).orElse(Map.of());
            long start = System.nanoTime();
            List<double[]> samples = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Map<String, Double> phases = new LinkedHashMap<>();
                samples.add(runOne(producer, consumer, idPrefix + next++, phases));
                phases.forEach((phase, ms) -> phaseSums.merge(phase, ms, Double::sum));
                if (gapMs > 0) {
                    Thread.sleep(gapMs);
                }
            }
            long wall = System.nanoTime() - start;
            double share = jit.map(m -> JitMeter.cpuNanosBetween(jitBefore, m.snapshot()) / (double) wall)
                    .orElse(Double.NaN);
            return new Block(samples, share);
        }
    }

    private Process startWorker(LocalStack stack, Path bundle, Path log) throws Exception {
        String javaBin = launcher.isBlank() ? Path.of(System.getProperty("java.home"), "bin", "java").toString() : launcher;
        List<String> command = new ArrayList<>(List.of(javaBin));
        command.addAll(workerJvm);
        command.addAll(stackProperties(stack, "oracle", bundle));
        command.addAll(List.of(
                "-Deasel.onnx.intra-op-threads=1",
                "-Dquarkus.http.port=0",
                "-jar", jar.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * The worker's settings for the local stack: Kafka, S3 (the bucket made at start), one model,
     * security off (the benchmarks' jobs come on the plain topic with no credential, as
     * ShutdownIT's) and a webhook signing secret.
     */
    static List<String> stackProperties(LocalStack stack, String modelName, Path bundle) {
        return List.of(
                "-Dkafka.bootstrap.servers=" + stack.kafkaBootstrapServers(),
                "-Deasel.s3.endpoint=" + stack.s3Endpoint(),
                "-Deasel.s3.access-key=" + stack.s3AccessKey(),
                "-Deasel.s3.secret-key=" + stack.s3SecretKey(),
                "-Deasel.s3.region=" + stack.s3Region(),
                "-Deasel.s3.create-bucket=true",
                "-Deasel.models." + modelName + ".path=" + bundle.toAbsolutePath(),
                "-Deasel.security.enabled=false",
                "-Deasel.webhooks.signing-secret=whsec_" + java.util.Base64.getEncoder()
                        .encodeToString("benchmark-only-secret-32-bytes!!".getBytes(StandardCharsets.UTF_8)));
    }

    /** One job: [end-to-end ms, overhead ms, worker-reported total ms]. */
    private static double[] runOne(KafkaProducer<String, byte[]> producer, KafkaConsumer<String, String> consumer,
                                   String id, Map<String, Double> phases) throws Exception {
        String job = "{\"version\":1,\"id\":\"" + id + "\",\"model\":\"oracle\",\"prompt\":\"a red circle\","
                + "\"width\":64,\"height\":64,\"steps\":2,\"guidanceScale\":1,\"scheduler\":\"euler\",\"seed\":1}";
        long start = System.nanoTime();
        long sentAtMs = System.currentTimeMillis();
        ConsumerRecord<String, String> record = completed(producer, consumer, id, job, Duration.ofMillis(100));
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

    /**
     * Puts a job on easel.jobs and waits (120 s at most, polling every {@code poll}) for its
     * completed event on {@code consumer}; its failed event fails the benchmark.
     */
    static ConsumerRecord<String, String> completed(KafkaProducer<String, byte[]> producer,
                                                    KafkaConsumer<String, String> consumer, String id, String job,
                                                    Duration poll) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        producer.send(new ProducerRecord<>("easel.jobs", id, job.getBytes(StandardCharsets.UTF_8))).get();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : consumer.poll(poll)) {
                if (!id.equals(record.key())) {
                    continue;
                }
                String type = header(record, "ce_type");
                if (type.endsWith(".failed")) {
                    throw new IllegalStateException("job " + id + " failed: " + record.value());
                }
                if (type.endsWith(".completed")) {
                    return record;
                }
            }
        }
        throw new IllegalStateException("no completed event for " + id + " within 120 s (see the worker's log)");
    }

    static String header(ConsumerRecord<String, String> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
    }

    static KafkaProducer<String, byte[]> producer(LocalStack stack) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<String, String> consumer(LocalStack stack) {
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

    private void report(Warmup warm, Block steady, Map<String, Double> phaseSums) {
        List<double[]> cold = warm.samples();
        List<double[]> samples = steady.samples();
        System.out.printf(Locale.ROOT, "%d jobs (after %d warm-up), 64x64, 2 euler steps, oracle bundle, one at a time%s%n",
                samples.size(), cold.size(), gapMs > 0 ? ", " + gapMs + " ms apart" : "");
        System.out.println("| per job | p50 ms | p90 ms | p99 ms | max ms |");
        System.out.println("|---|---:|---:|---:|---:|");
        row("end to end (produce → completed event consumed)", samples, 0);
        row("overhead (end to end − text encode, denoise, decode)", samples, 1);
        row("worker-reported total (start → images stored)", samples, 2);
        if (!cold.isEmpty()) {
            row("end to end, the " + cold.size() + " warm-up jobs (a cold worker)", cold, 0);
        }
        if (cold.size() >= COLD_JOBS) {
            // Job 1 is sent as the worker starts and waits for it (start-bench times that part): the
            // p50 of the 300 leaves it out and reads what the worker's warm-up costs a job.
            List<double[]> first = cold.subList(0, COLD_JOBS);
            row("overhead, jobs 1–" + COLD_JOBS + " of the cold worker", first, 1);
            double coldP50 = percentile(first.stream().mapToDouble(x -> x[1]).sorted().toArray(), 50);
            double steadyP50 = percentile(samples.stream().mapToDouble(x -> x[1]).sorted().toArray(), 50);
            System.out.printf(Locale.ROOT, "cold jobs 1–%d: overhead p50 %.1f ms = %.2f× the steady p50 %.1f ms%n",
                    COLD_JOBS, coldP50, coldP50 / steadyP50, steadyP50);
        }
        if (!warm.blocks().isEmpty()) {
            // The warm-up curve: each block's end-to-end p50 / p99 and its JIT share of one core.
            StringBuilder curve = new StringBuilder("warm-up, per block (jobs: p50/p99 ms, JIT % of a core):");
            for (Block block : warm.blocks()) {
                double[] sorted = block.samples().stream().mapToDouble(s -> s[0]).sorted().toArray();
                curve.append(String.format(Locale.ROOT, " %d: %.1f/%.0f %s", block.samples().size(),
                        percentile(sorted, 50), percentile(sorted, 99), percent(block.jitShare())));
            }
            System.out.println(curve);
        }
        System.out.printf(Locale.ROOT, "JIT during the measured jobs: %s of a core%s%n", percent(steady.jitShare()),
                Double.isNaN(steady.jitShare()) ? " (no /proc here: warm-up was --warmup jobs)"
                        : warm.quiet() ? "" : " — warm-up stopped at --max-warmup before the JIT was quiet");
        // Where the worker's time goes: the mean of each phase of the completed events' timingsMs
        // (whole milliseconds each, so sub-millisecond phases read as fractions of jobs that took 1 ms),
        // then ~answer and ~delivery, read from record timestamps (see runOne).
        StringBuilder means = new StringBuilder("mean timingsMs:");
        phaseSums.forEach((phase, sum) -> means.append(String.format(Locale.ROOT, " %s %.2f", phase, sum / samples.size())));
        System.out.println(means);
    }

    private static String percent(double share) {
        return Double.isNaN(share) ? "?" : String.format(Locale.ROOT, "%.0f %%", share * 100);
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
