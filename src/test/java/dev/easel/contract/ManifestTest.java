package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a manifest found at a job's location is that job's answer ({@link Manifest#isFor}). */
class ManifestTest {

    private static final JobKeys KEYS = JobKeys.of("acme", "j1");

    @Test
    void theJobsOwnImagesInItsBucketAreItsAnswer() {
        assertThat(manifest("j1", "images", "acme/j1/0.png", "acme/j1/1.png").isFor("j1", "images", KEYS)).isTrue();
    }

    @Test
    void anotherBucketJobOrPrefixIsNot() {
        assertThat(manifest("j1", "other", "acme/j1/0.png").isFor("j1", "images", KEYS)).isFalse();
        assertThat(manifest("j2", "images", "acme/j1/0.png").isFor("j1", "images", KEYS)).isFalse();
        assertThat(manifest("j1", "images", "acme/j1/0.png", "beta/j1/0.png").isFor("j1", "images", KEYS)).isFalse();
        // A sibling job whose id starts with this one's.
        assertThat(manifest("j1", "images", "acme/j10/0.png").isFor("j1", "images", KEYS)).isFalse();
    }

    @Test
    void missingFieldsAreNotAnAnswer() {
        assertThat(new Manifest(null, "m", "images", List.of(), 0, false, "ddim", Map.of(), null, "t", null, null, null)
                .isFor("j1", "images", KEYS)).isFalse();
        assertThat(new Manifest("j1", "m", null, List.of(), 0, false, "ddim", Map.of(), null, "t", null, null, null)
                .isFor("j1", "images", KEYS)).isFalse();
        assertThat(new Manifest("j1", "m", "images", null, 0, false, "ddim", Map.of(), null, "t", null, null, null)
                .isFor("j1", "images", KEYS)).isFalse();
        assertThat(manifest("j1", "images", (String) null).isFor("j1", "images", KEYS)).isFalse();
    }

    private static Manifest manifest(String id, String bucket, String... keys) {
        List<Manifest.StoredImage> images = new java.util.ArrayList<>();
        for (String key : keys) {
            images.add(new Manifest.StoredImage(key, 1));
        }
        return new Manifest(id, "m", bucket, images, 1, false, "ddim", Map.of(), null, "2026-12-07T00:00:00Z", null, null, null);
    }
}
