package dev.easel.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.testing.S3Configs;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class S3ObjectStoreProducerTest {

    /** Nothing listens on port 9 of 127.0.0.1: a store that is away. */
    private static final Map<String, String> AWAY = Map.of(
            "easel.s3.endpoint", "http://127.0.0.1:9",
            "easel.s3.access-key", "easel-dev",
            "easel.s3.secret-key", "easel-dev-secret",
            "easel.s3.bucket", "easel-away",
            "easel.s3.create-bucket", "true");

    @Test
    void aStoreAwayAtStartUpStillGivesAStoreWhoseCallsFailAsStorageFailures() {
        // Failing here failed every bean on the job path and stopped the jobs channel for good
        // (the chaos scenario coldstorage).
        try (S3ObjectStore store = new S3ObjectStoreProducer().objectStore(S3Configs.load(AWAY))) {
            assertThat(store).isNotNull();
            // The owed bucket is tried again by the call, which fails as the store does: retryable.
            assertThatThrownBy(() -> store.put("easel-away", "k", new byte[1], "image/png", Map.of()))
                    .isInstanceOf(IOException.class).hasMessageContaining("s3://easel-away");
        }
    }
}
