package dev.easel.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ObjectKeysTest {

    @ParameterizedTest
    @ValueSource(strings = {"easel-images", "abc", "a.b-c", "0123456789012345678901234567890123456789012345678901234567890ab"})
    void goodBuckets(String bucket) {
        assertThat(ObjectKeys.checkBucket(bucket)).isEqualTo(bucket);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "ab", "Easel", "easel_images", "-easel", "easel-", "a..b", "192.168.1.1",
            "0123456789012345678901234567890123456789012345678901234567890abc"})
    void badBuckets(String bucket) {
        assertThatThrownBy(() -> ObjectKeys.checkBucket(bucket))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("bucket: must be 3-63 characters")
                .hasMessageEndingWith("\"" + bucket + "\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "acme/2030/job-1/0.png", "with space/and+plus/ünïcode.png", ".hidden/x..y"})
    void goodKeys(String key) {
        assertThat(ObjectKeys.checkKey(key)).isEqualTo(key);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/a", "a/", "a//b", "./a", "a/../b", "..", "/"})
    void keysWithEmptyOrDotSegmentsAreRefused(String key) {
        assertThatThrownBy(() -> ObjectKeys.checkKey(key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("key: segments between '/' must not be empty, \".\" or \"..\"");
    }

    @Test
    void emptyAndControlCharactersAreRefused() {
        assertThatThrownBy(() -> ObjectKeys.checkKey("")).hasMessage("key: must not be empty");
        assertThatThrownBy(() -> ObjectKeys.checkKey(null)).hasMessage("key: must not be empty");
        assertThatThrownBy(() -> ObjectKeys.checkKey("a\nb"))
                .hasMessageStartingWith("key: must not contain control characters (U+000A at 1)");
    }

    @Test
    void keyLengthCountsUtf8Bytes() {
        assertThat(ObjectKeys.checkKey("k".repeat(1024))).hasSize(1024);
        assertThatThrownBy(() -> ObjectKeys.checkKey("k".repeat(1025)))
                .hasMessageStartingWith("key: must be at most 1024 UTF-8 bytes, got 1025");
        assertThatThrownBy(() -> ObjectKeys.checkKey("é".repeat(513)))
                .hasMessageStartingWith("key: must be at most 1024 UTF-8 bytes, got 1026");
    }

    @Test
    void metadata() {
        Map<String, String> good = Map.of("seed", "42", "job-id", "order-1234", "prompt", "a red fox, oil painting");
        assertThat(ObjectKeys.checkMetadata(good)).isSameAs(good);

        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("Seed", "42")))
                .hasMessage("metadata key: must be a-z 0-9 - starting with a letter or digit, got \"Seed\"");
        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("job_id", "1"))).hasMessageStartingWith("metadata key:");
        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("prompt", "ünïcode")))
                .hasMessageStartingWith("metadata prompt: must be printable ASCII");
        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("prompt", "line\nbreak")))
                .hasMessageStartingWith("metadata prompt: must be printable ASCII");
        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("prompt", " padded")))
                .hasMessageStartingWith("metadata prompt: must be printable ASCII without leading or trailing spaces");
        assertThatThrownBy(() -> ObjectKeys.checkMetadata(Map.of("prompt", "x".repeat(2043))))
                .hasMessage("metadata: must be at most 2048 bytes of keys and values, got 2049");
    }
}
