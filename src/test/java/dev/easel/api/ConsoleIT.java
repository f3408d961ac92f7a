package dev.easel.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.testing.TestKeys;
import dev.easel.worker.WorkerStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The job console ({@code GET /}, src/main/resources/META-INF/resources) in a real browser against the
 * real worker, Kafka and S3: src/test/browser/console.spec.mjs drives headless Chromium with
 * playwright-core. Needs {@code node}, {@code /usr/bin/chromium} and {@code npm ci} in src/test/browser,
 * which .ci/run installs.
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class ConsoleIT {

    private static final Path BROWSER = Path.of("src/test/browser");
    /** Real convolutions, enough steps that the job is still running when the page's event stream opens. */
    private static final String STEPS = "40";

    private final HttpClient http = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URI base;

    @Test
    void consoleRunsAJobAndShowsViolationsInABrowser() throws Exception {
        assertThat(BROWSER.resolve("node_modules/playwright-core")).as(
                "playwright-core is not installed: run .ci/run, or npm ci --prefix src/test/browser").isDirectory();
        Path screenshot = Path.of("target/console.png");
        List<String> command = new ArrayList<>(List.of("node", BROWSER.resolve("console.spec.mjs").toString(),
                base.toString(), TestKeys.DEFAULT, WorkerStack.SLOW_MODEL, STEPS, screenshot.toString()));
        Process node;
        try {
            node = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run node (.ci/run installs it): " + e.getMessage(), e);
        }
        // Read as it comes, so a hanging browser still shows how far it got.
        StringBuilder output = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (var lines = node.inputReader(StandardCharsets.UTF_8)) {
                lines.lines().forEach(line -> {
                    System.out.println("[console.spec] " + line);
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                });
            } catch (IOException ignored) {
                // the process went away: its output so far is what there is
            }
        }, "console-spec-output");
        reader.start();
        boolean exited = node.waitFor(240, TimeUnit.SECONDS);
        if (!exited) {
            node.destroyForcibly();
        }
        reader.join(5000);
        synchronized (output) {
            assertThat(exited).as("console.spec did not finish within 240 s:\n" + output).isTrue();
            assertThat(node.exitValue()).as("console.spec failed:\n" + output).isZero();
            assertThat(output).contains("all checks passed");
        }
        assertThat(Files.size(screenshot)).isPositive();
    }

    /** The page needs no credential; the API behind it still does. */
    @Test
    void pageAndItsFilesLoadWithoutAKey() throws Exception {
        for (String path : List.of("", "index.html", "console.js", "console.css")) {
            HttpResponse<String> got = http.send(HttpRequest.newBuilder(base.resolve(path)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(got.statusCode()).as(path).isEqualTo(200);
        }
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(page.body()).contains("Easel job console");
        HttpResponse<String> models = http.send(HttpRequest.newBuilder(base.resolve("v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(401);
    }

    /** GET / is the page, POST / is still push mode: with its credential it runs the job, without it is refused. */
    @Test
    void postToRootStaysThePushEndpoint() throws Exception {
        String id = "console-push-" + UUID.randomUUID();
        String job = "{\"version\": 1, \"id\": \"" + id + "\", \"model\": \"" + WorkerStack.MODEL
                + "\", \"prompt\": \"a red circle\", \"width\": 64, \"height\": 64, \"steps\": 2, \"seed\": 7}";
        HttpRequest.Builder push = HttpRequest.newBuilder(base).POST(HttpRequest.BodyPublishers.ofString(job))
                .header("Content-Type", "application/json").header("ce-specversion", "1.0")
                .header("ce-id", UUID.randomUUID().toString()).header("ce-source", "/apis/v1/kafkasource")
                .header("ce-type", "dev.knative.kafka.event");

        HttpResponse<String> anonymous = http.send(push.build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> pushed = http.send(push.header(TestKeys.HEADER, TestKeys.DEFAULT).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(pushed.statusCode()).as(pushed.body()).isEqualTo(200);
        assertThat(pushed.body()).contains(id + "/0.png");
    }
}
