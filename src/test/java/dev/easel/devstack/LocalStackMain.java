package dev.easel.devstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * Runs the local stack until Ctrl-C and prints its connection settings as the environment
 * variables the worker reads. {@code ./mvnw test-compile exec:java@stack [-Dexec.args="[OPTIONS] [DIR]"]}.
 *
 * <p>Without a directory it uses target/devstack-run, emptied first so every run starts from a
 * fresh broker and bucket store; a directory given must be empty or absent. Options secure the
 * broker ({@link LocalStack.Options}): {@code --kafka-sasl} (SASL/SCRAM-SHA-512 over plain TCP),
 * {@code --kafka-tls} (SASL/SCRAM over TLS), {@code --kafka-acls} (ACLs enforced; with one of the
 * others). The printed variables then carry the SASL (and trust store) settings too.
 */
public final class LocalStackMain {

    private LocalStackMain() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        LocalStack.Options options = LocalStack.Options.defaults();
        Path dir = null;
        for (String arg : args) {
            switch (arg) {
                case "--kafka-sasl" -> options = options.withKafkaSecurity(LocalStack.KafkaSecurity.SASL_PLAINTEXT);
                case "--kafka-tls" -> options = options.withKafkaSecurity(LocalStack.KafkaSecurity.SASL_SSL);
                case "--kafka-acls" -> options = options.withKafkaAcls(true);
                default -> {
                    if (arg.startsWith("-") || dir != null) {
                        System.err.println("usage: LocalStackMain [--kafka-sasl | --kafka-tls] [--kafka-acls] [DIR]");
                        System.exit(2);
                    }
                    dir = Path.of(arg);
                }
            }
        }
        if (dir == null) {
            dir = Path.of("target", "devstack-run");
            deleteRecursively(dir);
        }
        // LocalStack's shutdown hook stops the servers on Ctrl-C.
        LocalStack stack = LocalStack.start(dir, options);
        System.out.printf(Locale.ROOT, "# Easel local stack up in %.1f s; logs and data in %s%n",
                stack.startupTime().toMillis() / 1000.0, stack.workDir());
        if (options.kafkaSecurity() != LocalStack.KafkaSecurity.PLAINTEXT) {
            System.out.printf("# Kafka: %s, SCRAM users %s (clients) and %s (admin, password %s)%s%n",
                    options.kafkaSecurity(), LocalStack.KAFKA_USER, LocalStack.KAFKA_ADMIN_USER,
                    LocalStack.KAFKA_ADMIN_PASSWORD, options.kafkaAcls() ? "; ACLs enforced, none granted yet" : "");
        }
        stack.workerEnvironment().forEach((name, value) -> System.out.println("export " + name + "=" + shellWord(value)));
        System.out.println("# Ctrl-C stops Kafka and S3Proxy.");
        new CountDownLatch(1).await();
    }

    /** The value as one shell word: as it is when that is safe, else in single quotes. */
    static String shellWord(String value) {
        return value.matches("[A-Za-z0-9_./:,@+=-]+") ? value : "'" + value.replace("'", "'\\''") + "'";
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
