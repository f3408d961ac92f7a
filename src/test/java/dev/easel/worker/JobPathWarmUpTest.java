package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;

/** What makes the warm-up stop the worker: a setting's check, wherever in a bean's creation it failed. */
class JobPathWarmUpTest {

    @Test
    void aSettingsCheckDeepInABeansCreationIsAConfigurationError() {
        RuntimeException creation = new RuntimeException("Error creating bean Jobs",
                new IllegalStateException("wrapped", new IllegalArgumentException(
                        "easel.worker.retry-budget must be > 0, got PT0S")));

        assertThat(JobPathWarmUp.configurationError(creation)).contains("easel.worker.retry-budget must be > 0, got PT0S");
    }

    @Test
    void aStoreOrBrokerThatIsDownIsNot() {
        assertThat(JobPathWarmUp.configurationError(new UncheckedIOException(new java.io.IOException(
                "connection refused")))).isEmpty();
        assertThat(JobPathWarmUp.configurationError(new IllegalArgumentException("bucket name too long"))).isEmpty();
        assertThat(JobPathWarmUp.configurationError(new IllegalStateException((String) null))).isEmpty();
    }
}
