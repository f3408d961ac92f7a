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
 * variables the worker reads. {@code ./mvnw test-compile exec:java@stack [-Dexec.args=DIR]}.
 *
 * <p>Without an argument it uses target/devstack-run, emptied first so every run starts from a
 * fresh broker and bucket store; a directory given must be empty or absent.
 */
public final class LocalStackMain {

    private LocalStackMain() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Path dir;
        if (args.length == 0) {
            dir = Path.of("target", "devstack-run");
            deleteRecursively(dir);
        } else {
            dir = Path.of(args[0]);
        }
        // LocalStack's shutdown hook stops the servers on Ctrl-C.
        LocalStack stack = LocalStack.start(dir);
        System.out.printf(Locale.ROOT, "# Easel local stack up in %.1f s; logs and data in %s%n",
                stack.startupTime().toMillis() / 1000.0, stack.workDir());
        stack.workerEnvironment().forEach((name, value) -> System.out.println("export " + name + "=" + value));
        System.out.println("# Ctrl-C stops Kafka and S3Proxy.");
        new CountDownLatch(1).await();
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
