package dev.easel.devstack;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * The local stack Easel's worker talks to: an Apache Kafka broker (KRaft, one combined
 * broker+controller node) and S3Proxy (filesystem backend, AWS signatures checked), each a child
 * JVM bound to 127.0.0.1 on free ports. The integration tests and the local run
 * ({@link LocalStackMain}) both start it this way, so what the tests see is what a developer runs.
 *
 * <p>The servers' jars come from the build (src/devstack/pom.xml writes them into target/devstack;
 * system property {@code easel.devstack.dir} points elsewhere). Everything a run writes (data,
 * configs, logs) stays under the work directory, which must be empty or absent.
 *
 * <p>For fault tests ({@code dev.easel.chaos}) each server can be taken away and brought back on the
 * same port with the same data: {@link #stopKafka()} (an orderly broker shutdown) or
 * {@link #killKafka()} (SIGKILL) / {@link #restartKafka()}, {@link #killS3Proxy()} /
 * {@link #restartS3Proxy()} (SIGKILL, then a fresh process over the same bucket directory). A
 * restarted server's output is appended to its log.
 *
 * <p>By default the broker's client listener is PLAINTEXT without authentication. {@link Options}
 * secure it instead ({@link #start(Path, Options)}): SASL/SCRAM-SHA-512 over plain TCP or over TLS
 * (a self-signed certificate made at start), optionally with ACLs enforced. The SCRAM users
 * ({@value #KAFKA_USER} for clients, {@value #KAFKA_ADMIN_USER} for the broker itself and for
 * administration) are created when the storage is formatted; {@link #kafkaClientConfig()} and
 * {@link #kafkaAdminConfig()} are what a client then needs. The controller listener (a second port,
 * loopback only, never advertised to clients) authenticates the broker with SASL/PLAIN: KRaft
 * cannot use SCRAM there, its credentials live in the metadata log the controller serves.
 */
public final class LocalStack implements AutoCloseable {

    /** Fixed development credentials: S3Proxy checks every request's signature against them. */
    public static final String S3_ACCESS_KEY = "easel-dev";
    public static final String S3_SECRET_KEY = "easel-dev-secret";
    /** S3Proxy accepts any region in a signature; the worker still needs one to sign with. */
    public static final String S3_REGION = "us-east-1";

    /** With a secured broker ({@link Options}): the SCRAM user clients (the worker, tests) log in as. */
    public static final String KAFKA_USER = "easel";
    public static final String KAFKA_PASSWORD = "easel-dev-kafka-secret";
    /** The broker's own user (inter-broker, controller) and the super user when ACLs are on. */
    public static final String KAFKA_ADMIN_USER = "admin";
    public static final String KAFKA_ADMIN_PASSWORD = "easel-dev-kafka-admin-secret";
    public static final String KAFKA_SASL_MECHANISM = "SCRAM-SHA-512";
    /** The password of the TLS key store and trust store (PKCS12) of a {@link KafkaSecurity#SASL_SSL} broker. */
    public static final String KAFKA_TLS_STORE_PASSWORD = "easel-dev-tls";

    /** How the broker's client listener is secured. */
    public enum KafkaSecurity {
        /** No encryption, no authentication: the default. */
        PLAINTEXT,
        /** SASL/SCRAM-SHA-512 authentication over plain TCP. */
        SASL_PLAINTEXT,
        /** SASL/SCRAM-SHA-512 over TLS with a self-signed certificate for 127.0.0.1, made at start. */
        SASL_SSL;

        boolean sasl() {
            return this != PLAINTEXT;
        }
    }

    /**
     * How to start the stack. {@link #defaults()} is what {@link LocalStack#start(Path)} starts.
     *
     * @param kafkaSecurity the client listener's security protocol
     * @param kafkaAcls     whether the broker authorizes requests (StandardAuthorizer): then
     *                      {@value #KAFKA_ADMIN_USER} is a super user and {@value #KAFKA_USER} may do
     *                      only what ACLs grant it (none at start); needs SASL
     */
    public record Options(KafkaSecurity kafkaSecurity, boolean kafkaAcls) {

        public Options {
            if (kafkaSecurity == null) {
                throw new IllegalArgumentException("kafkaSecurity: required");
            }
            if (kafkaAcls && !kafkaSecurity.sasl()) {
                throw new IllegalArgumentException("kafkaAcls: needs SASL (ACLs name authenticated users), got "
                        + kafkaSecurity);
            }
        }

        /** PLAINTEXT, no ACLs. */
        public static Options defaults() {
            return new Options(KafkaSecurity.PLAINTEXT, false);
        }

        public Options withKafkaSecurity(KafkaSecurity security) {
            return new Options(security, kafkaAcls);
        }

        public Options withKafkaAcls(boolean acls) {
            return new Options(kafkaSecurity, acls);
        }
    }

    private static final String HOST = "127.0.0.1";
    /** Generous for 2 busy cores; a healthy start takes a few seconds. */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final int STOP_TIMEOUT_SECONDS = 20;
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(STOP_TIMEOUT_SECONDS);
    private static final int LOG_TAIL_LINES = 40;

    private final Path workDir;
    private final Jars jars;
    private final Options options;
    /** The running (or last) processes; replaced by {@link #restartKafka()} and {@link #restartS3Proxy()}. */
    private volatile Child kafka;
    private volatile Child s3proxy;
    private final int kafkaPort;
    private final int controllerPort;
    private final int s3Port;
    private final Duration startupTime;
    private final Thread shutdownHook;
    private boolean closed;

    private LocalStack(Path workDir, Jars jars, Options options, Child kafka, int kafkaPort, int controllerPort,
                       Child s3proxy, int s3Port, Duration startupTime) {
        this.workDir = workDir;
        this.jars = jars;
        this.options = options;
        this.kafka = kafka;
        this.kafkaPort = kafkaPort;
        this.controllerPort = controllerPort;
        this.s3proxy = s3proxy;
        this.s3Port = s3Port;
        this.startupTime = startupTime;
        // Children outlive a JVM that exits without close() (Ctrl-C, a test run that stops early).
        this.shutdownHook = new Thread(this::stopChildren, "local-stack-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts Kafka and S3Proxy in parallel and returns once both answer: Kafka's cluster metadata
     * through an admin client, S3Proxy an HTTP request.
     *
     * @param workDir empty or absent directory for data, configuration and the logs
     *                ({@code kafka.log}, {@code kafka-format.log}, {@code s3proxy.log})
     * @throws IllegalStateException naming the server and its log when one does not come up
     */
    public static LocalStack start(Path workDir) throws IOException {
        return start(workDir, Options.defaults());
    }

    /**
     * As {@link #start(Path)}, with the broker secured as {@code options} say.
     *
     * @throws IllegalStateException naming the server and its log when one does not come up
     */
    public static LocalStack start(Path workDir, Options options) throws IOException {
        long t0 = System.nanoTime();
        Path dir = workDir.toAbsolutePath().normalize();
        Files.createDirectories(dir);
        try (Stream<Path> entries = Files.list(dir)) {
            if (entries.findAny().isPresent()) {
                throw new IllegalArgumentException("local stack work directory is not empty: " + dir);
            }
        }
        Jars jars = Jars.locate();
        int[] ports = freePorts(3);
        int kafkaPort = ports[0];
        int controllerPort = ports[1];
        int s3Port = ports[2];

        CompletableFuture<Child> kafka = CompletableFuture.supplyAsync(
                () -> startKafka(jars, dir, options, kafkaPort, controllerPort), daemonThread("local-stack-kafka"));
        CompletableFuture<Child> s3proxy = CompletableFuture.supplyAsync(
                () -> startS3Proxy(jars, dir, s3Port), daemonThread("local-stack-s3proxy"));
        List<Throwable> failures = new ArrayList<>();
        Child kafkaChild = join(kafka, failures);
        Child s3Child = join(s3proxy, failures);
        if (!failures.isEmpty()) {
            // The other server may be up: leave nothing running behind a failed start.
            Stream.of(kafkaChild, s3Child).filter(c -> c != null).forEach(Child::stop);
            RuntimeException first = asRuntime(failures.get(0));
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
        return new LocalStack(dir, jars, options, kafkaChild, kafkaPort, controllerPort, s3Child, s3Port,
                Duration.ofNanos(System.nanoTime() - t0));
    }

    /** {@code 127.0.0.1:PORT}, for {@code bootstrap.servers}. */
    public String kafkaBootstrapServers() {
        return HOST + ":" + kafkaPort;
    }

    /** What the stack was started with. */
    public Options options() {
        return options;
    }

    /**
     * The settings a Kafka client needs to reach the broker as {@value #KAFKA_USER}:
     * {@code bootstrap.servers}, and with a secured broker {@code security.protocol},
     * {@code sasl.mechanism}, {@code sasl.jaas.config} and for TLS {@code ssl.truststore.*}.
     */
    public Map<String, String> kafkaClientConfig() {
        return kafkaClientConfig(KAFKA_USER, KAFKA_PASSWORD);
    }

    /** As {@link #kafkaClientConfig()}, as the broker's admin (a super user when ACLs are on). */
    public Map<String, String> kafkaAdminConfig() {
        return kafkaClientConfig(KAFKA_ADMIN_USER, KAFKA_ADMIN_PASSWORD);
    }

    /**
     * As {@link #kafkaClientConfig()}, logging in with these credentials (for a wrong one, say);
     * with a PLAINTEXT broker they are ignored.
     */
    public Map<String, String> kafkaClientConfig(String user, String password) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrapServers());
        config.putAll(clientSecurity(options.kafkaSecurity(), workDir, user, password));
        return config;
    }

    /** The PKCS12 trust store holding the broker's self-signed certificate, with {@link KafkaSecurity#SASL_SSL}. */
    public Optional<Path> kafkaTruststore() {
        return options.kafkaSecurity() == KafkaSecurity.SASL_SSL ? Optional.of(truststore(workDir)) : Optional.empty();
    }

    /** The broker's self-signed certificate as a PEM file ({@code ssl.truststore.type=PEM}), with {@link KafkaSecurity#SASL_SSL}. */
    public Optional<Path> kafkaCaCertificate() {
        return kafkaTruststore().map(truststore -> truststore.resolveSibling("ca.pem"));
    }

    /** {@code http://127.0.0.1:PORT}; clients must use path-style bucket addressing. */
    public URI s3Endpoint() {
        return URI.create("http://" + HOST + ":" + s3Port);
    }

    public String s3AccessKey() {
        return S3_ACCESS_KEY;
    }

    public String s3SecretKey() {
        return S3_SECRET_KEY;
    }

    public String s3Region() {
        return S3_REGION;
    }

    /** Wall time from {@link #start} until both servers answered. */
    public Duration startupTime() {
        return startupTime;
    }

    public Path workDir() {
        return workDir;
    }

    /** The connection settings as the environment variables the worker reads, in a stable order. */
    public Map<String, String> workerEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers());
        // Quarkus hands every KAFKA_* variable to the Kafka clients (KAFKA_SASL_JAAS_CONFIG is sasl.jaas.config).
        clientSecurity(options.kafkaSecurity(), workDir, KAFKA_USER, KAFKA_PASSWORD).forEach((key, value) ->
                env.put("KAFKA_" + key.toUpperCase(Locale.ROOT).replace('.', '_'), value));
        env.put("EASEL_S3_ENDPOINT", s3Endpoint().toString());
        env.put("EASEL_S3_ACCESS_KEY", s3AccessKey());
        env.put("EASEL_S3_SECRET_KEY", s3SecretKey());
        env.put("EASEL_S3_REGION", s3Region());
        // The stack's S3Proxy starts empty: let the worker make its bucket.
        env.put("EASEL_S3_CREATE_BUCKET", "true");
        return env;
    }

    /** Stops both servers (SIGTERM, then a kill after a grace period) and waits for them. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stopChildren();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException jvmAlreadyShuttingDown) {
            // The hook is running or about to; the children are stopped either way.
        }
    }

    private void stopChildren() {
        // In parallel: Kafka's orderly shutdown takes a few seconds that S3Proxy need not wait for.
        Child s3Child = s3proxy;
        CompletableFuture<Void> s3 = CompletableFuture.runAsync(s3Child::stop, daemonThread("local-stack-stop"));
        kafka.stop();
        s3.join();
    }

    // ---- faults (dev.easel.chaos) ----

    /**
     * Stops the broker the orderly way (SIGTERM: Kafka's controlled shutdown, a kill only after
     * {@value #STOP_TIMEOUT_SECONDS} s), keeping its data and port for {@link #restartKafka()}.
     *
     * @return the broker's exit status (143 after SIGTERM), or -1 when it was not running
     */
    public synchronized int stopKafka() {
        requireOpen();
        Child broker = kafka;
        if (!broker.process().isAlive()) {
            return -1;
        }
        broker.stop();
        return broker.process().isAlive() ? -1 : broker.process().exitValue();
    }

    /**
     * Kills the broker with SIGKILL, as a crash or an OOM kill would: no controlled shutdown, its
     * logs left unclean (recovered by {@link #restartKafka()}), connections cut. Its data and ports
     * stay.
     */
    public synchronized void killKafka() {
        requireOpen();
        kill(kafka.process(), "Kafka");
    }

    /**
     * Starts the broker again on the same ports over the same data directory (no storage format)
     * and returns once it answers, as {@link #start} does.
     *
     * @throws IllegalStateException if it is running, or does not come up (naming its log)
     */
    public synchronized void restartKafka() {
        requireOpen();
        if (kafka.process().isAlive()) {
            throw new IllegalStateException("Kafka is running; stopKafka() first");
        }
        kafka = launchKafkaBroker(jars, workDir, options, kafkaPort, true);
    }

    /** Whether the broker process is alive (it may still be starting or stopping). */
    public boolean kafkaRunning() {
        return kafka.process().isAlive();
    }

    /**
     * Kills S3Proxy with SIGKILL, as a crash or an OOM kill would: no shutdown, connections cut.
     * Its data (the bucket directories) stays for {@link #restartS3Proxy()}.
     */
    public synchronized void killS3Proxy() {
        requireOpen();
        kill(s3proxy.process(), "S3Proxy");
    }

    private static void kill(Process process, String name) {
        process.destroyForcibly();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(name + " (pid " + process.pid() + ") still alive after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing " + name, e);
        }
    }

    /**
     * Starts S3Proxy again on the same port with the same configuration and data, and returns
     * once it answers HTTP.
     *
     * @throws IllegalStateException if it is running, or does not come up (naming its log)
     */
    public synchronized void restartS3Proxy() {
        requireOpen();
        if (s3proxy.process().isAlive()) {
            throw new IllegalStateException("S3Proxy is running; killS3Proxy() first");
        }
        s3proxy = launchS3Proxy(jars, workDir, s3Port, true);
    }

    /** Whether the S3Proxy process is alive. */
    public boolean s3ProxyRunning() {
        return s3proxy.process().isAlive();
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the local stack is closed");
        }
    }

    // ---- Kafka ----

    private static Child startKafka(Jars jars, Path workDir, Options options, int port, int controllerPort) {
        Path home = workDir.resolve("kafka");
        Path serverProperties = home.resolve("server.properties");
        Path log4jConfig = home.resolve("log4j2.properties");
        try {
            Files.createDirectories(home);
            if (options.kafkaSecurity() == KafkaSecurity.SASL_SSL) {
                makeTlsStores(workDir);
            }
            writeProperties(serverProperties, kafkaConfig(workDir, options, port, controllerPort));
            Files.writeString(log4jConfig, KAFKA_LOG4J);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the Kafka configuration in " + home, e);
        }

        // KRaft needs its storage formatted with a cluster id before the first start.
        Path formatLog = workDir.resolve("kafka-format.log");
        List<String> format = new ArrayList<>(javaCommand(kafkaJvm(jars, home), "kafka.tools.StorageTool", "format",
                "--cluster-id", Uuid.randomUuid().toString(), "--config", serverProperties.toString()));
        if (options.kafkaSecurity().sasl()) {
            // SCRAM credentials live in the metadata log: KRaft bootstraps them at format time.
            for (String[] user : new String[][] {{KAFKA_ADMIN_USER, KAFKA_ADMIN_PASSWORD}, {KAFKA_USER, KAFKA_PASSWORD}}) {
                format.add("--add-scram");
                format.add(KAFKA_SASL_MECHANISM + "=[name=" + user[0] + ",password=" + user[1] + "]");
            }
        }
        Child formatter = Child.launch("Kafka storage format", format, home, formatLog, false);
        formatter.awaitExit(READY_TIMEOUT);

        return launchKafkaBroker(jars, workDir, options, port, false);
    }

    private static List<String> kafkaJvm(Jars jars, Path home) {
        return List.of("-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true", "-Dlog4j2.configurationFile=" + home.resolve("log4j2.properties"),
                "-cp", jars.kafkaClasspath());
    }

    /** The broker over the configuration and (formatted) data in {@code workDir/kafka}, once it answers. */
    private static Child launchKafkaBroker(Jars jars, Path workDir, Options options, int port, boolean appendLog) {
        Path home = workDir.resolve("kafka");
        Child broker = Child.launch("Kafka broker",
                javaCommand(kafkaJvm(jars, home), "kafka.Kafka", home.resolve("server.properties").toString()),
                home, workDir.resolve("kafka.log"), appendLog);
        try {
            awaitKafka(broker, port, clientSecurity(options.kafkaSecurity(), workDir, KAFKA_ADMIN_USER, KAFKA_ADMIN_PASSWORD));
            return broker;
        } catch (RuntimeException e) {
            broker.stop();
            throw e;
        }
    }

    private static Properties kafkaConfig(Path workDir, Options options, int port, int controllerPort) {
        Path dataDir = workDir.resolve("kafka").resolve("data");
        // The client listener is named after its protocol: PLAINTEXT, SASL_PLAINTEXT or SASL_SSL.
        String listener = options.kafkaSecurity().name();
        String controllerProtocol = options.kafkaSecurity().sasl() ? "SASL_PLAINTEXT" : "PLAINTEXT";
        Properties p = new Properties();
        p.setProperty("node.id", "1");
        p.setProperty("process.roles", "broker,controller");
        // A static one-voter quorum: no dynamic-quorum bootstrap (format --standalone) needed.
        p.setProperty("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        p.setProperty("listeners", listener + "://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.setProperty("advertised.listeners", listener + "://" + HOST + ":" + port);
        p.setProperty("listener.security.protocol.map", listener + ":" + listener + ",CONTROLLER:" + controllerProtocol);
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("inter.broker.listener.name", listener);
        if (options.kafkaSecurity().sasl()) {
            // Clients and the broker itself (inter-broker) log in with SCRAM on the client listener.
            String prefix = "listener.name." + listener.toLowerCase(Locale.ROOT) + ".";
            p.setProperty("sasl.enabled.mechanisms", KAFKA_SASL_MECHANISM);
            p.setProperty("sasl.mechanism.inter.broker.protocol", KAFKA_SASL_MECHANISM);
            p.setProperty(prefix + KAFKA_SASL_MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                    scramJaas(KAFKA_ADMIN_USER, KAFKA_ADMIN_PASSWORD));
            // The controller listener: SASL/PLAIN with one static user, the broker's admin.
            p.setProperty("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
            p.setProperty("sasl.mechanism.controller.protocol", "PLAIN");
            p.setProperty("listener.name.controller.plain.sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + KAFKA_ADMIN_USER
                            + "\" password=\"" + KAFKA_ADMIN_PASSWORD + "\" user_" + KAFKA_ADMIN_USER + "=\""
                            + KAFKA_ADMIN_PASSWORD + "\";");
        }
        if (options.kafkaSecurity() == KafkaSecurity.SASL_SSL) {
            // Its key store for the listener; its trust store for its own inter-broker connections.
            p.setProperty("ssl.keystore.type", "PKCS12");
            p.setProperty("ssl.keystore.location", keystore(workDir).toString());
            p.setProperty("ssl.keystore.password", KAFKA_TLS_STORE_PASSWORD);
            p.setProperty("ssl.key.password", KAFKA_TLS_STORE_PASSWORD);
            p.setProperty("ssl.truststore.type", "PKCS12");
            p.setProperty("ssl.truststore.location", truststore(workDir).toString());
            p.setProperty("ssl.truststore.password", KAFKA_TLS_STORE_PASSWORD);
        }
        if (options.kafkaAcls()) {
            p.setProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            p.setProperty("super.users", "User:" + KAFKA_ADMIN_USER);
        }
        p.setProperty("log.dirs", dataDir.toString());
        // One node: internal topics cannot have more replicas or in-sync replicas than that.
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        // The first consumer group would otherwise create 50 offsets partitions, seconds on 2 cores.
        p.setProperty("offsets.topic.num.partitions", "1");
        // Consumers join at once instead of after the 3 s default rebalance delay.
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        // The 128 MiB default is allocated at start and would not fit the small heap.
        p.setProperty("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
        return p;
    }

    private static final String KAFKA_LOG4J = """
            # Everything to standard output, which LocalStack sends to kafka.log.
            status = warn
            appender.out.type = Console
            appender.out.name = out
            appender.out.layout.type = PatternLayout
            appender.out.layout.pattern = [%d] %p %m (%c)%n
            rootLogger.level = info
            rootLogger.appenderRef.out.ref = out
            """;

    private static void awaitKafka(Child broker, int port, Map<String, String> security) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        // Wait for the port first: an admin client polling a closed port logs a warning per try.
        awaitPort(broker, port, deadline);
        Properties config = new Properties();
        config.putAll(security);
        config.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, HOST + ":" + port);
        config.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        config.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = Admin.create(config)) {
            Exception last = null;
            while (System.nanoTime() < deadline) {
                broker.checkAlive();
                try {
                    if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(5000)).nodes().get().isEmpty()) {
                        return;
                    }
                } catch (ExecutionException e) {
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw broker.failure("interrupted while waiting for it", e);
                }
                sleep(200);
            }
            throw broker.failure("did not answer describeCluster within " + READY_TIMEOUT.toSeconds() + " s", last);
        }
    }

    /** A client's security settings (none for PLAINTEXT), logging in as {@code user}. */
    private static Map<String, String> clientSecurity(KafkaSecurity security, Path workDir, String user, String password) {
        Map<String, String> config = new LinkedHashMap<>();
        if (!security.sasl()) {
            return config;
        }
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, security.name());
        config.put(SaslConfigs.SASL_MECHANISM, KAFKA_SASL_MECHANISM);
        config.put(SaslConfigs.SASL_JAAS_CONFIG, scramJaas(user, password));
        if (security == KafkaSecurity.SASL_SSL) {
            config.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststore(workDir).toString());
            config.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, KAFKA_TLS_STORE_PASSWORD);
            config.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        }
        return config;
    }

    private static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private static Path keystore(Path workDir) {
        return workDir.resolve("kafka").resolve("tls").resolve("broker.p12");
    }

    private static Path truststore(Path workDir) {
        return workDir.resolve("kafka").resolve("tls").resolve("truststore.p12");
    }

    /**
     * A key pair and self-signed certificate for 127.0.0.1 and localhost (keytool, the JDK's own),
     * and a trust store holding that certificate, also written as {@code ca.pem} for other tools.
     */
    private static void makeTlsStores(Path workDir) throws IOException {
        Path keystore = keystore(workDir);
        Files.createDirectories(keystore.getParent());
        List<String> keytool = List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "30",
                "-dname", "CN=127.0.0.1, O=Easel local stack", "-ext", "SAN=IP:127.0.0.1,DNS:localhost",
                "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", KAFKA_TLS_STORE_PASSWORD, "-keypass", KAFKA_TLS_STORE_PASSWORD);
        Child.launch("keytool", keytool, keystore.getParent(), workDir.resolve("kafka-keytool.log"), false)
                .awaitExit(READY_TIMEOUT);
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(keystore)) {
                keys.load(in, KAFKA_TLS_STORE_PASSWORD.toCharArray());
            }
            Certificate certificate = keys.getCertificate("broker");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("easel-local-stack", certificate);
            try (var out = Files.newOutputStream(truststore(workDir))) {
                trust.store(out, KAFKA_TLS_STORE_PASSWORD.toCharArray());
            }
            String pem = "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(certificate.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
            Files.writeString(keystore.resolveSibling("ca.pem"), pem, StandardCharsets.US_ASCII);
        } catch (GeneralSecurityException e) {
            throw new IOException("making the trust store from " + keystore + ": " + e, e);
        }
    }

    // ---- S3Proxy ----

    private static Child startS3Proxy(Jars jars, Path workDir, int port) {
        Path home = workDir.resolve("s3proxy");
        Path conf = home.resolve("s3proxy.conf");
        Path data = home.resolve("data");
        try {
            Files.createDirectories(data);
            Properties p = new Properties();
            p.setProperty("s3proxy.endpoint", "http://" + HOST + ":" + port);
            // Signature checking on, as real S3 does: a client with wrong keys must fail here too.
            p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
            p.setProperty("s3proxy.identity", S3_ACCESS_KEY);
            p.setProperty("s3proxy.credential", S3_SECRET_KEY);
            p.setProperty("jclouds.provider", "filesystem");
            p.setProperty("jclouds.filesystem.basedir", data.toString());
            writeProperties(conf, p);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the S3Proxy configuration in " + home, e);
        }
        return launchS3Proxy(jars, workDir, port, false);
    }

    /** S3Proxy over the configuration and data in {@code workDir/s3proxy}, once it answers HTTP. */
    private static Child launchS3Proxy(Jars jars, Path workDir, int port, boolean appendLog) {
        Path home = workDir.resolve("s3proxy");
        Path conf = home.resolve("s3proxy.conf");
        List<String> command = javaCommand(
                List.of("-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                        // S3Proxy's bundled logback.xml makes logback print its own setup first.
                        "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                        "-jar", jars.s3proxyJar().toString()),
                "--properties", conf.toString());
        Child server = Child.launch("S3Proxy", command, home, workDir.resolve("s3proxy.log"), appendLog);
        try {
            awaitHttp(server, port);
            return server;
        } catch (RuntimeException e) {
            server.stop();
            throw e;
        }
    }

    /** Any HTTP answer will do: without credentials S3Proxy answers 403, which proves it serves. */
    private static void awaitHttp(Child server, int port) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        awaitPort(server, port, deadline);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + port + "/"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            server.checkAlive();
            try {
                http.send(request, HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException e) {
                last = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw server.failure("interrupted while waiting for it", e);
            }
            sleep(100);
        }
        throw server.failure("did not answer HTTP within " + READY_TIMEOUT.toSeconds() + " s", last);
    }

    // ---- shared ----

    private static void awaitPort(Child child, int port, long deadline) {
        while (System.nanoTime() < deadline) {
            child.checkAlive();
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(HOST, port), 500);
                return;
            } catch (IOException notYet) {
                sleep(100);
            }
        }
        throw child.failure("did not open port " + port + " within " + READY_TIMEOUT.toSeconds() + " s", null);
    }

    /**
     * Ports the OS has free now. All are held open until all are chosen so that they differ; a
     * process elsewhere could still take one before our servers bind it, which they then report.
     */
    private static int[] freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST));
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }

    private static List<String> javaCommand(List<String> jvmArgs, String... mainAndArgs) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.addAll(List.of(mainAndArgs));
        return command;
    }

    private static void writeProperties(Path file, Properties properties) throws IOException {
        try (var out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            properties.store(out, "Written by dev.easel.devstack.LocalStack");
        }
    }

    private static Executor daemonThread(String name) {
        return task -> {
            Thread thread = new Thread(task, name);
            thread.setDaemon(true);
            thread.start();
        };
    }

    private static Child join(CompletableFuture<Child> future, List<Throwable> failures) {
        try {
            return future.join();
        } catch (CompletionException e) {
            failures.add(e.getCause());
            return null;
        }
    }

    private static RuntimeException asRuntime(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t.getMessage(), t);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the local stack", e);
        }
    }

    /** Where the build put the servers' jars. */
    private record Jars(String kafkaClasspath, Path s3proxyJar) {

        static Jars locate() throws IOException {
            Path dir = Path.of(System.getProperty("easel.devstack.dir", "target/devstack")).toAbsolutePath();
            Path classpath = dir.resolve("kafka.classpath");
            Path s3proxy = dir.resolve("s3proxy").resolve("s3proxy.jar");
            for (Path required : List.of(classpath, s3proxy)) {
                if (!Files.isRegularFile(required)) {
                    throw new IllegalStateException("local stack jars missing: " + required
                            + " (./mvnw test-compile resolves them into target/devstack via src/devstack/pom.xml)");
                }
            }
            return new Jars(Files.readString(classpath).strip(), s3proxy);
        }
    }

    /** A server process, its output in a log file. */
    private record Child(String name, Process process, Path log) {

        static Child launch(String name, List<String> command, Path directory, Path log, boolean appendLog) {
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(appendLog ? ProcessBuilder.Redirect.appendTo(log.toFile())
                            : ProcessBuilder.Redirect.to(log.toFile()));
            try {
                return new Child(name, builder.start(), log);
            } catch (IOException e) {
                throw new UncheckedIOException("could not launch " + name + ": " + command.get(0), e);
            }
        }

        void awaitExit(Duration timeout) {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    stop();
                    throw failure("did not finish within " + timeout.toSeconds() + " s", null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop();
                throw failure("interrupted while waiting for it", e);
            }
            if (process.exitValue() != 0) {
                throw failure("exited with status " + process.exitValue(), null);
            }
        }

        void checkAlive() {
            if (!process.isAlive()) {
                throw failure("exited with status " + process.exitValue() + " during startup", null);
            }
        }

        IllegalStateException failure(String what, Throwable cause) {
            return new IllegalStateException(name + " " + what + "; last lines of " + log + ":\n" + tail(log), cause);
        }

        void stop() {
            if (!process.isAlive()) {
                return;
            }
            process.destroy();
            try {
                if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        private static String tail(Path log) {
            try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
                long length = file.length();
                int chunk = (int) Math.min(length, 16 * 1024);
                byte[] bytes = new byte[chunk];
                file.seek(length - chunk);
                file.readFully(bytes);
                List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
                return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
            } catch (IOException e) {
                return "(could not read the log: " + e + ")";
            }
        }
    }
}
