package dev.easel.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged worker ({@code java -jar quarkus-run.jar serve}) as a child process: started,
 * killed with SIGKILL, stopped with SIGTERM and started again, each incarnation with its own log
 * ({@code worker-NN.log} in the run's directory) and a fresh free HTTP port. Every incarnation uses
 * the same static group member id, so a restarted worker gets its partitions back at once instead
 * of waiting out the dead one's session.
 */
final class WorkerProcess implements AutoCloseable {

    static final String GROUP_INSTANCE_ID = "chaos-worker-1";
    /** SIGTERM gives running jobs this long (easel.worker.shutdown-grace) before they are cut off. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(20);

    private final Path jar;
    private final Path dir;
    private final Map<String, String> config;
    private final List<String> jvmOptions;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1).build();
    private final Thread shutdownHook;

    private Process process;
    private boolean closed;
    private int port = -1;
    private int incarnation;
    private int concurrency;
    private long startedAtMillis;
    private Path log;

    /**
     * @param config system properties every incarnation gets ({@code -Dkey=value}); the HTTP port
     *               and {@code easel.worker.concurrency} are added per start
     */
    WorkerProcess(Path jar, Path dir, Map<String, String> config, List<String> jvmOptions) {
        this.jar = jar.toAbsolutePath();
        this.dir = dir;
        this.config = Map.copyOf(config);
        this.jvmOptions = List.copyOf(jvmOptions);
        // The worker must not outlive a run that stops early (Ctrl-C, a failed test JVM).
        this.shutdownHook = new Thread(this::killQuietly, "chaos-worker-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    synchronized void start(int jobsAtOnce) {
        if (closed) {
            throw new IllegalStateException("the run is over: no worker is started any more");
        }
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("worker already running (pid " + process.pid() + ")");
        }
        incarnation++;
        concurrency = jobsAtOnce;
        port = freePort();
        log = dir.resolve(String.format(Locale.ROOT, "worker-%02d.log", incarnation));
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-XX:ErrorFile=" + dir.toAbsolutePath().resolve("hs_err_worker_%p.log"));
        config.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.add("-Dquarkus.http.port=" + port);
        command.add("-Deasel.worker.concurrency=" + jobsAtOnce);
        command.addAll(List.of("-jar", jar.toString(), "serve"));
        try {
            Files.writeString(log, "# " + String.join(" ", command) + System.lineSeparator(), StandardCharsets.UTF_8);
            startedAtMillis = System.currentTimeMillis();
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the worker: " + command.get(0), e);
        }
    }

    /**
     * Polls {@code /q/health/ready} until it answers 200.
     *
     * @return when it did (wall clock, ms)
     * @throws IllegalStateException if the worker exits first or is not ready in time
     */
    long awaitReady(Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < until) {
            Process p;
            int currentPort;
            synchronized (this) {
                p = process;
                currentPort = port;
            }
            if (p == null || !p.isAlive()) {
                throw new IllegalStateException("worker exited with status " + (p == null ? "?" : p.exitValue())
                        + " before it was ready; see " + log);
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + currentPort + "/q/health/ready"))
                        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return System.currentTimeMillis();
                }
                last = response.statusCode() + " " + response.body().replaceAll("\\s+", " ");
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("worker not ready within " + timeout.toSeconds() + " s (last: " + last + "); see " + log);
    }

    /** One readiness probe: whether it answers 200 now. */
    boolean ready() {
        int currentPort;
        synchronized (this) {
            if (process == null || !process.isAlive()) {
                return false;
            }
            currentPort = port;
        }
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + currentPort + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** SIGKILL, as the OOM killer or a lost node does: no shutdown hooks, nothing flushed. */
    synchronized void kill9() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("worker (pid " + process.pid() + ") still alive 30 s after SIGKILL");
        }
    }

    /**
     * SIGTERM, then waits for the worker's graceful shutdown (its grace period and a margin); a
     * worker still alive after that is killed.
     *
     * @return the exit status (-1 when it had to be killed)
     */
    synchronized int terminate() throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return process == null ? -1 : process.exitValue();
        }
        process.destroy();
        if (!process.waitFor(SHUTDOWN_GRACE.toSeconds() + 40, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            return -1;
        }
        return process.exitValue();
    }

    synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** The exit status of the current incarnation, or null while it runs. */
    synchronized Integer exitStatus() {
        return process == null || process.isAlive() ? null : process.exitValue();
    }

    synchronized int port() {
        return port;
    }

    synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    synchronized int incarnation() {
        return incarnation;
    }

    synchronized int concurrency() {
        return concurrency;
    }

    /** When the current incarnation was launched (wall clock, ms). */
    synchronized long startedAtMillis() {
        return startedAtMillis;
    }

    synchronized Path log() {
        return log;
    }

    /** Every incarnation's log, oldest first. */
    List<Path> logs() {
        List<Path> logs = new ArrayList<>();
        for (int i = 1; i <= incarnation(); i++) {
            logs.add(dir.resolve(String.format(Locale.ROOT, "worker-%02d.log", i)));
        }
        return logs;
    }

    /** Whether the run closed it (or the JVM is shutting down): a dead worker then is no finding. */
    synchronized boolean closed() {
        return closed;
    }

    private synchronized void killQuietly() {
        closed = true;
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
        }
    }

    @Override
    public void close() {
        killQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or has run
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }
}
