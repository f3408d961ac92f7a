package dev.easel.chaos;

import dev.easel.devstack.LocalStack;
import dev.easel.fixtures.OracleBundle;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * A chaos run: the local stack (Kafka, S3Proxy), the packaged worker as a child process, and the
 * scenarios one after another, each with its faults; then one line per scenario and the totals.
 * Everything it starts listens on 127.0.0.1 only, every wait has a timeout, and everything it
 * writes (stack data and logs, the worker's logs, the model bundles) is under the work directory.
 * Shared by the scenarios: {@link #log}, the worker, the sender and the answers.
 */
final class Chaos implements AutoCloseable {

    static final String JOBS = "easel.jobs";
    static final String EVENTS = "easel.events";
    static final String DEAD_LETTERS = "easel.jobs.dlq";
    static final String CONTROL = "easel.jobs.control";
    static final String BUCKET = "easel-chaos";
    private static final int JOB_PARTITIONS = 2;
    /** The worker's consumer group (application.properties), unless the run's configuration names another. */
    private static final String WORKER_GROUP = "easel-workers";
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(20);
    /** How long a scenario that broke off still waits for the answers to what it sent. */
    private static final Duration AFTER_ERROR = Duration.ofSeconds(60);

    final Settings settings;
    final Random random;
    private final PrintStream out;
    private final long t0 = System.nanoTime();
    private final String runTag;
    LocalStack stack;
    WorkerProcess worker;
    Answers answers;
    JobSender sender;
    private S3Client s3;
    private int failedStarts;
    /** What every worker process is started with: {@link #twinWorker} starts a second one alike. */
    private Map<String, String> workerConfig = Map.of();
    /** The second workers {@link #twinWorker} made, whose logs the summary reads too. */
    private final List<WorkerProcess> twins = new java.util.concurrent.CopyOnWriteArrayList<>();

    private Chaos(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
        this.random = new Random(settings.seed());
        this.runTag = Long.toString(settings.seed() & 0xffff, 36);
    }

    /** The result of a whole run. */
    record Report(List<Tally> tallies, int exitCode, String summary, Path workDir) {

        int total(java.util.function.ToIntFunction<Tally> column) {
            return tallies.stream().mapToInt(column).sum();
        }
    }

    /** Runs the scenarios of {@code settings}, printing progress and, last, the summary line. */
    static Report run(Settings settings, PrintStream out) {
        List<Scenario> scenarios = new ArrayList<>();
        for (String name : settings.scenarios()) {
            scenarios.add(switch (name) {
                case "kill" -> new KillScenario();
                case "broker" -> new OutageScenario(name, StackServer.KAFKA);
                case "brokerkill" -> new OutageScenario(name, StackServer.KAFKA_KILLED);
                case "coldstart" -> new ColdOutageScenario(name, StackServer.KAFKA, false, 300);
                case "storage" -> new OutageScenario(name, StackServer.S3PROXY);
                case "coldstorage" -> new ColdOutageScenario(name, StackServer.S3PROXY, true, 400);
                case "fuzz" -> new FuzzScenario();
                case "concurrency" -> new ConcurrencyScenario();
                case "twins" -> new TwinsScenario();
                default -> throw new IllegalArgumentException("unknown scenario " + name + " (known: " + Settings.ALL + ")");
            });
        }
        List<Outcome> outcomes = new ArrayList<>();
        List<Tally> tallies = new ArrayList<>();
        String setupError = null;
        List<String> workerLog = List.of();
        Chaos chaos = new Chaos(settings, out);
        try {
            chaos.setUp();
            for (Scenario scenario : scenarios) {
                if (chaos.worker.closed()) {
                    break; // the JVM is shutting down (Ctrl-C)
                }
                Outcome outcome = new Outcome(scenario.name());
                outcomes.add(outcome);
                chaos.log("== %s", scenario.name());
                try {
                    chaos.ensureWorker(scenario.concurrency(settings), outcome);
                    scenario.run(chaos, outcome);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    outcome.error("interrupted");
                    break;
                } catch (Exception | AssertionError e) {
                    outcome.error(oneLine(e));
                    chaos.log("%s could not be completed: %s", scenario.name(), oneLine(e));
                    // Whatever it sent still gets its chance to be answered, and counts.
                    try {
                        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), AFTER_ERROR));
                    } catch (Exception again) {
                        outcome.lost(chaos.answers == null ? outcome.jobs() : chaos.answers.unsettled(outcome.jobs()));
                    }
                }
            }
            // Late duplicates (a redelivery answered again) count too: a last look before the tally.
            Thread.sleep(3_000);
            for (Outcome outcome : outcomes) {
                tallies.add(Tally.of(outcome, chaos.answers));
            }
            workerLog = chaos.workerLogSummary();
        } catch (Exception e) {
            setupError = oneLine(e);
            chaos.log("chaos run stopped: %s", setupError);
            if (chaos.answers != null) {
                for (Outcome outcome : outcomes) {
                    if (tallies.stream().noneMatch(t -> t.scenario().equals(outcome.scenario()))) {
                        outcome.lost(chaos.answers.unsettled(outcome.jobs()));
                        tallies.add(Tally.of(outcome, chaos.answers));
                    }
                }
            }
        } finally {
            chaos.close();
        }
        return chaos.report(tallies, workerLog, setupError);
    }

    private Report report(List<Tally> tallies, List<String> workerLog, String setupError) {
        out.println();
        out.printf(Locale.ROOT, "chaos (%s mode, seed %d), work dir %s%n", settings.mode(), settings.seed(), settings.workDir());
        for (Tally tally : tallies) {
            out.println(tally.line());
            for (String note : tally.notes()) {
                out.println("    " + note);
            }
        }
        workerLog.forEach(line -> out.println("worker log: " + line));
        if (setupError != null) {
            out.println("run stopped early: " + setupError);
        }
        int sent = tallies.stream().mapToInt(Tally::sent).sum();
        int completed = tallies.stream().mapToInt(Tally::completed).sum();
        int failed = tallies.stream().mapToInt(Tally::failed).sum();
        int lost = tallies.stream().mapToInt(Tally::lost).sum();
        int duplicates = tallies.stream().mapToInt(Tally::duplicateResults).sum();
        int wrong = tallies.stream().mapToInt(Tally::wronglyFailed).sum();
        boolean incomplete = setupError != null || tallies.stream().anyMatch(t -> t.error() != null)
                || tallies.size() < settings.scenarios().size();
        int exit = lost + duplicates + wrong > 0 ? 1 : incomplete ? 2 : 0;
        String summary = String.format(Locale.ROOT, "chaos: sent %d, completed %d, failed %d, lost %d, duplicate results %d,"
                + " wrongly failed %d", sent, completed, failed, lost, duplicates, wrong);
        out.println(summary);
        out.flush();
        return new Report(List.copyOf(tallies), exit, summary, settings.workDir());
    }

    // ---- setting up ----

    private void setUp() throws Exception {
        Path dir = settings.workDir();
        Files.createDirectories(dir);
        log("chaos %s mode: scenarios %s, seed %d, work dir %s", settings.mode(), settings.scenarios(), settings.seed(), dir);
        if (!Files.isRegularFile(settings.jar())) {
            throw new IllegalStateException("the packaged worker is missing: " + settings.jar()
                    + " (./mvnw package -DskipTests builds it)");
        }
        stack = LocalStack.start(dir.resolve("stack"));
        log("local stack up in %.1f s: Kafka %s, S3 %s (logs in %s)", stack.startupTime().toMillis() / 1000.0,
                stack.kafkaBootstrapServers(), stack.s3Endpoint(), stack.workDir());
        Path oracle = OracleBundle.create(OracleBundle.Spec.defaults()).writeTo(dir.resolve("models").resolve(JobSpec.ORACLE));
        Path slow = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("models").resolve(JobSpec.RANDOM));
        Map<String, Integer> partitions = Map.of(JOBS, JOB_PARTITIONS, EVENTS, 1, DEAD_LETTERS, 1);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers()))) {
            List<NewTopic> topics = new ArrayList<>(partitions.entrySet().stream()
                    .map(e -> new NewTopic(e.getKey(), e.getValue(), (short) 1)).toList());
            // Cancellations, as deployment/README.md creates it: compacted by job id, kept 7 days.
            topics.add(new NewTopic(CONTROL, 1, (short) 1).configs(Map.of("cleanup.policy", "compact,delete",
                    "retention.ms", String.valueOf(Duration.ofDays(7).toMillis()))));
            admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
        }
        answers = new Answers(stack.kafkaBootstrapServers(), JOBS, EVENTS, DEAD_LETTERS, partitions);
        // Sends are retried across outages, but not past the point where the run is over anyway.
        sender = new JobSender(stack.kafkaBootstrapServers(), JOBS, Duration.ofHours(2));
        s3 = S3Client.builder()
                .endpointOverride(stack.s3Endpoint())
                .region(Region.of(stack.s3Region()))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(stack.s3AccessKey(),
                        stack.s3SecretKey())))
                .forcePathStyle(true)
                .httpClient(UrlConnectionHttpClient.create())
                .build();

        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("easel.models." + JobSpec.ORACLE + ".path", oracle.toString());
        config.put("easel.models." + JobSpec.RANDOM + ".path", slow.toString());
        config.put("kafka.bootstrap.servers", stack.kafkaBootstrapServers());
        config.put("easel.s3.endpoint", stack.s3Endpoint().toString());
        config.put("easel.s3.access-key", stack.s3AccessKey());
        config.put("easel.s3.secret-key", stack.s3SecretKey());
        config.put("easel.s3.region", stack.s3Region());
        config.put("easel.s3.bucket", BUCKET);
        config.put("easel.s3.create-bucket", "true");
        config.put("easel.webhooks.signing-secret", "whsec_" + Base64.getEncoder().encodeToString(secret));
        config.put("easel.onnx.intra-op-threads", "1");
        config.put("easel.worker.retry-budget", "10m");
        config.put("easel.worker.shutdown-grace", WorkerProcess.SHUTDOWN_GRACE.toSeconds() + "s");
        config.put("mp.messaging.incoming.jobs.group.instance.id", WorkerProcess.GROUP_INSTANCE_ID);
        // The faults are the subject here, not credentials: one team, the default tenant (docs/security.md).
        config.put("easel.security.enabled", "false");
        // Text log lines: the chaos report quotes them.
        config.put("easel.log.json", "false");
        settings.workerConfig().forEach((key, value) -> {
            if (value == null || value.isEmpty()) {
                config.remove(key);
            } else {
                config.put(key, value);
            }
        });
        workerConfig = Map.copyOf(config);
        worker = new WorkerProcess(settings.jar(), dir, config, List.of("-Xmx768m"));
    }

    /**
     * A second worker beside {@link #worker}, configured alike but as a dynamic group member (no
     * static id: stopped, it hands its partitions back at once); its logs in {@code twin/}.
     */
    WorkerProcess twinWorker() throws IOException {
        Map<String, String> config = new LinkedHashMap<>(workerConfig);
        config.remove("mp.messaging.incoming.jobs.group.instance.id");
        Path twinDir = Files.createDirectories(settings.workDir().resolve("twin"));
        WorkerProcess twin = new WorkerProcess(settings.jar(), twinDir, config, List.of("-Xmx768m"));
        twins.add(twin);
        return twin;
    }

    /** The jobs topic's partition count: a job sent to each reaches every worker that holds one. */
    int jobPartitions() {
        return JOB_PARTITIONS;
    }

    /** Waits until {@code members} members of the workers' group each hold a partition of the jobs topic. */
    boolean awaitJobsShared(int members, Duration timeout) throws Exception {
        String group = workerConfig.getOrDefault("mp.messaging.incoming.jobs.group.id", WORKER_GROUP);
        long until = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers()))) {
            while (System.nanoTime() < until) {
                long holding = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group)
                        .members().stream().filter(m -> m.assignment().topicPartitions().stream()
                                .anyMatch(tp -> tp.topic().equals(JOBS))).count();
                if (holding >= members) {
                    return true;
                }
                Thread.sleep(200);
            }
        }
        return false;
    }

    /**
     * Makes sure the worker runs with {@code concurrency} and is ready: starts it, restarts it
     * gracefully with another concurrency, or kills and restarts one that is not ready (noted:
     * a worker that does not recover by itself is a finding).
     */
    void ensureWorker(int concurrency, Outcome outcome) throws InterruptedException {
        if (worker.alive() && worker.concurrency() != concurrency) {
            long t = System.nanoTime();
            int status = worker.terminate();
            log("worker stopped with SIGTERM (exit status %d, %.1f s) to restart it with concurrency %d", status,
                    seconds(System.nanoTime() - t), concurrency);
        } else if (worker.alive()) {
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!worker.ready() && System.nanoTime() < until) {
                Thread.sleep(500);
            }
            if (worker.ready()) {
                return;
            }
            outcome.note("the worker (" + worker.log().getFileName() + ") was not ready 60 s before " + outcome.scenario()
                    + ": killed and restarted");
            log("worker not ready for 60 s: kill -9 and restart");
            worker.kill9();
        } else if (worker.incarnation() > 0) {
            outcome.note("the worker (" + worker.log().getFileName() + ") had exited with status " + worker.exitStatus()
                    + " before " + outcome.scenario() + ": started again");
        }
        startWorker(concurrency);
    }

    /** Starts an incarnation and waits until it is ready; returns when it was (wall clock, ms). */
    long startWorker(int concurrency) throws InterruptedException {
        if (failedStarts >= 2) {
            throw new IllegalStateException("the worker failed to start " + failedStarts + " times in a row; not trying again"
                    + " (see " + worker.log() + ")");
        }
        worker.start(concurrency);
        long readyAt;
        try {
            readyAt = worker.awaitReady(settings.readyTimeout());
        } catch (IllegalStateException e) {
            failedStarts++;
            throw e;
        }
        failedStarts = 0;
        log("worker %d up (pid %d, port %d, concurrency %d), ready in %.1f s; log %s", worker.incarnation(), worker.pid(),
                worker.port(), concurrency, (readyAt - worker.startedAtMillis()) / 1000.0, worker.log().getFileName());
        return readyAt;
    }

    // ---- during a scenario ----

    String id(String scenario, int n) {
        return String.format(Locale.ROOT, "chaos-%s-%s-%03d", runTag, scenario, n);
    }

    void log(String format, Object... args) {
        out.printf(Locale.ROOT, "[%6.1f s] %s%n", seconds(System.nanoTime() - t0), String.format(Locale.ROOT, format, args));
        out.flush();
    }

    /**
     * Waits until every job has its answers or the time is up, and returns those without. A
     * worker that exits by itself meanwhile is noted and started again, as Kubernetes would.
     */
    List<SentJob> awaitSettled(Outcome outcome, Collection<SentJob> jobs, Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        long until = start + timeout.toNanos();
        long nextProgress = start + PROGRESS_EVERY.toNanos();
        long seen = answers.recordsRead();
        long lastChange = start;
        List<SentJob> open = answers.unsettled(jobs);
        while (!open.isEmpty() && System.nanoTime() < until) {
            answers.check();
            if (answers.recordsRead() != seen) {
                seen = answers.recordsRead();
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > settings.stallTimeout().toNanos()) {
                log("%s: nothing on the events or dead-letter topics for %d s, the worker is stuck: not waiting longer",
                        outcome.scenario(), settings.stallTimeout().toSeconds());
                outcome.note("the worker answered nothing for " + settings.stallTimeout().toSeconds() + " s with "
                        + open.size() + " job(s) waiting: the wait was cut short");
                break;
            }
            if (worker.closed()) {
                throw new IllegalStateException("the run is being stopped");
            }
            if (!worker.alive()) {
                String note = "the worker (" + worker.log().getFileName() + ") exited by itself with status "
                        + worker.exitStatus() + " during " + outcome.scenario() + ": started again";
                outcome.note(note);
                log("%s", note);
                startWorker(worker.concurrency());
            }
            if (System.nanoTime() > nextProgress) {
                log("%s: %d/%d answered, waiting (up to %d s more)", outcome.scenario(), jobs.size() - open.size(),
                        jobs.size(), TimeUnit.NANOSECONDS.toSeconds(until - System.nanoTime()));
                nextProgress += PROGRESS_EVERY.toNanos();
            }
            Thread.sleep(200);
            open = answers.unsettled(jobs);
        }
        log("%s: %d/%d answered in %.1f s%s", outcome.scenario(), jobs.size() - open.size(), jobs.size(),
                seconds(System.nanoTime() - start), open.isEmpty() ? "" : ", " + open.size() + " without an answer");
        return open;
    }

    /** An object's bytes, or empty when there is none. */
    Optional<byte[]> fetch(String bucket, String key) {
        try {
            ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key));
            return Optional.of(bytes.asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        }
    }

    /** Seconds with one decimal, for log lines. */
    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
        return message.lines().findFirst().orElse(message);
    }

    // ---- worker logs ----

    private static final Pattern LEVEL = Pattern.compile("^\\S+ \\S+ (ERROR|WARN)\\s+\\[([^\\]]*)\\] \\([^)]*\\) (.*)$");

    /** Per incarnation, how many ERROR and WARN lines it logged; then the first distinct ERROR lines. */
    private List<String> workerLogSummary() {
        List<String> lines = new ArrayList<>();
        if (worker == null) {
            return lines;
        }
        List<String> errors = new ArrayList<>();
        StringBuilder counts = new StringBuilder();
        List<Path> logs = new ArrayList<>(worker.logs());
        twins.forEach(t -> logs.addAll(t.logs()));
        for (Path log : logs) {
            int error = 0;
            int warn = 0;
            try (Stream<String> content = Files.lines(log, StandardCharsets.UTF_8)) {
                for (String line : (Iterable<String>) content::iterator) {
                    Matcher m = LEVEL.matcher(line);
                    if (!m.matches()) {
                        continue;
                    }
                    if (m.group(1).equals("ERROR")) {
                        error++;
                        String message = m.group(2) + ": " + m.group(3).replaceAll("\\b[0-9a-z-]*chaos-[0-9a-z]+-[a-z]+-\\d+", "<job>");
                        message = message.length() > 240 ? message.substring(0, 240) + "…" : message;
                        if (errors.size() < 10 && !errors.contains(message)) {
                            errors.add(message);
                        }
                    } else {
                        warn++;
                    }
                }
            } catch (IOException | RuntimeException e) {
                counts.append(log.getFileName()).append(" unreadable (").append(e).append("); ");
                continue;
            }
            counts.append(String.format(Locale.ROOT, "%s %d ERROR %d WARN; ", settings.workDir().relativize(log), error,
                    warn));
        }
        if (counts.length() > 0) {
            lines.add(counts.substring(0, counts.length() - 2));
        }
        errors.forEach(e -> lines.add("  ERROR " + e));
        return lines;
    }

    @Override
    public void close() {
        if (worker != null) {
            try {
                worker.terminate();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            worker.close();
        }
        if (sender != null) {
            sender.close();
        }
        if (answers != null) {
            answers.close();
        }
        if (s3 != null) {
            s3.close();
        }
        if (stack != null) {
            stack.close();
        }
    }
}
