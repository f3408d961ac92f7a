package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The jobs channel's settings in application.properties that {@link JobConsumer}'s guarantees rest
 * on; each was once missing or wrong, and nothing else fails when one is dropped.
 */
class JobConsumerSettingsTest {

    private static final String CHANNEL = "mp.messaging.incoming.jobs.";

    static Properties application;

    @BeforeAll
    static void load() throws IOException {
        application = new Properties();
        try (InputStream in = JobConsumerSettingsTest.class.getResourceAsStream("/application.properties")) {
            application.load(in);
        }
    }

    @Test
    void offsetsAreCommittedOnlyForAnsweredJobsAndOnlyCommittedSubmissionsAreRead() {
        assertThat(application.getProperty(CHANNEL + "enable.auto.commit")).isEqualTo("false");
        assertThat(application.getProperty(CHANNEL + "isolation.level")).isEqualTo("read_committed");
        assertThat(application.getProperty(CHANNEL + "auto.offset.reset")).isEqualTo("earliest");
    }

    @Test
    void theConnectorsOwnConsumerCallsDoNotWaitASecondBehindAPoll() {
        // The commit strategy's first look at a new partition, commits and pause/resume run between
        // polls: at the connector's default poll timeout (1 s) a cold worker's first job waited a
        // whole second in the worker after its record arrived (docs/benchmarks.md, scale from zero).
        assertThat(Integer.parseInt(application.getProperty(CHANNEL + "poll-timeout", "1000")))
                .isLessThanOrEqualTo(200);
    }
}
