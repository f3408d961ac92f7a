package dev.easel.contract;

import dev.easel.store.ObjectKeys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JobKeysTest {

    @Test
    void layoutUnderAPrefix() {
        JobKeys keys = JobKeys.of("acme/2030", "order-1234.variant_a");

        assertThat(keys.image(0)).isEqualTo("acme/2030/order-1234.variant_a/0.png");
        assertThat(keys.image(7)).isEqualTo("acme/2030/order-1234.variant_a/7.png");
        assertThat(keys.manifest()).isEqualTo("acme/2030/order-1234.variant_a/result.json");
        assertThat(keys).hasToString("acme/2030/order-1234.variant_a/");
    }

    @Test
    void statusAndPointer() {
        assertThat(JobKeys.of("acme/2030/", "j1").status()).isEqualTo("acme/2030/j1/status.json");
        assertThat(JobKeys.pointer("acme", "j1")).isEqualTo("~jobs/acme/j1.json");
        assertThatThrownBy(() -> JobKeys.pointer("acme", "..")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JobKeys.pointer("acme", "a/b")).hasMessageContaining("job id");
        assertThatThrownBy(() -> JobKeys.pointer("..", "j1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void trailingSlashesOfThePrefixAreDropped() {
        // The contract's own example prefix ends in '/'.
        assertThat(JobKeys.of("acme/2030/", "j1").manifest()).isEqualTo("acme/2030/j1/result.json");
        assertThat(JobKeys.of("acme//", "j1").image(0)).isEqualTo("acme/j1/0.png");
    }

    @Test
    void noPrefix() {
        assertThat(JobKeys.of("", "j1").image(0)).isEqualTo("j1/0.png");
        assertThat(JobKeys.of("", "j1").manifest()).isEqualTo("j1/result.json");
        assertThat(JobKeys.of("/", "j1").manifest()).isEqualTo("j1/result.json");
    }

    @Test
    void everyKeyIsAValidObjectKey() {
        JobKeys keys = JobKeys.of("a/b", "x");
        assertThat(ObjectKeys.checkKey(keys.image(Integer.MAX_VALUE))).isEqualTo("a/b/x/" + Integer.MAX_VALUE + ".png");
        assertThat(ObjectKeys.checkKey(keys.manifest())).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "a/b", "a b", "ü"})
    void badJobIdsAreRefused(String id) {
        assertThatThrownBy(() -> JobKeys.of("p", id))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("job id: must be 1-128 characters");
    }

    @Test
    void longJobIdIsRefused() {
        assertThat(JobKeys.of("", "a".repeat(128)).image(0)).startsWith("a".repeat(128) + "/");
        assertThatThrownBy(() -> JobKeys.of("", "a".repeat(129))).hasMessageStartingWith("job id:");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/acme", "acme//2030", "acme/./x", "acme/../x", "tab\there"})
    void badPrefixesAreRefused(String prefix) {
        assertThatThrownBy(() -> JobKeys.of(prefix, "j1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("key:");
    }

    @Test
    void prefixLengthFollowsTheContract() {
        assertThat(JobKeys.of("p".repeat(512), "j").manifest()).hasSize(512 + "/j/result.json".length());
        assertThatThrownBy(() -> JobKeys.of("p".repeat(513), "j"))
                .hasMessage("key prefix: must be at most 512 characters, got 513");
        // 512 characters can still be too many bytes for S3.
        assertThatThrownBy(() -> JobKeys.of("é".repeat(512), "j")).hasMessageStartingWith("key: must be at most 1024 UTF-8 bytes");
    }

    @Test
    void negativeIndexIsRefused() {
        assertThatThrownBy(() -> JobKeys.of("", "j").image(-1)).hasMessage("image index: must be ≥ 0, got -1");
    }
}
