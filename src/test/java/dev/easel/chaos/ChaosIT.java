package dev.easel.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code deployment/chaos.sh --quick}, in-process: the local stack and the packaged worker
 * (target/quarkus-app, built by {@code package} before the integration tests) through one of each
 * fault — kill -9, a broker outage, a storage outage, fuzzed records, concurrent pulled and pushed
 * jobs. No job may be lost, have two different results or fail wrongly. A few minutes on 2 cores.
 */
class ChaosIT {

    private static final Path RUNNER = Path.of("target", "quarkus-app", "quarkus-run.jar");

    @Test
    void quickChaosLosesNothingAndFailsNothingWrongly() throws Exception {
        assertThat(RUNNER).as("the packaged worker; run the integration tests with ./mvnw verify").exists();
        Path dir = Files.createTempDirectory(Path.of("target"), "chaos-it-");
        Settings settings = Settings.quick(RUNNER, dir.toAbsolutePath(), Settings.ALL, System.currentTimeMillis(), Map.of());
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(tee(System.out, captured), true, StandardCharsets.UTF_8);

        Chaos.Report report;
        try (AutoCloseable quiet = ChaosMain.quietKafkaClients()) {
            report = Chaos.run(settings, out);
        }

        String log = captured.toString(StandardCharsets.UTF_8);
        List<String> lines = log.lines().toList();
        assertThat(lines).last().isEqualTo(report.summary());
        assertThat(report.summary()).matches("chaos: sent \\d+, completed \\d+, failed \\d+, lost \\d+, duplicate results \\d+,"
                + " wrongly failed \\d+");
        assertThat(report.tallies()).extracting(Tally::scenario).as(log).containsExactlyElementsOf(Settings.ALL);
        for (Tally tally : report.tallies()) {
            assertThat(tally.error()).as("%s was carried out (run log above; worker logs in %s)", tally.scenario(), dir).isNull();
            assertThat(tally.sent()).as(tally.line()).isPositive();
            assertThat(tally.lost()).as(tally.line()).isZero();
            assertThat(tally.duplicateResults()).as(tally.line()).isZero();
            assertThat(tally.wronglyFailed()).as(tally.line()).isZero();
        }
        assertThat(report.exitCode()).as(report.summary()).isZero();
    }

    private static OutputStream tee(OutputStream a, OutputStream b) {
        return new OutputStream() {
            @Override
            public void write(int c) throws IOException {
                a.write(c);
                b.write(c);
            }

            @Override
            public void write(byte[] bytes, int off, int len) throws IOException {
                a.write(bytes, off, len);
                b.write(bytes, off, len);
            }

            @Override
            public void flush() throws IOException {
                a.flush();
                b.flush();
            }
        };
    }
}
