package dev.easel.security;

import java.util.Objects;

/**
 * A place in storage a tenant may use: a bucket and a key prefix ({@code ""} for the whole
 * bucket). Written {@code bucket/prefix} in configuration.
 */
public record StorageGrant(String bucket, String prefix) {

    public StorageGrant {
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(prefix, "prefix");
    }

    /**
     * Reads {@code bucket} or {@code bucket/prefix/}; a prefix is taken as a folder, so
     * {@code images/acme} grants {@code acme/…}, not {@code acme-evil/…}.
     *
     * @throws IllegalArgumentException for an empty bucket
     */
    public static StorageGrant parse(String text) {
        String trimmed = text.strip();
        int slash = trimmed.indexOf('/');
        String bucket = slash < 0 ? trimmed : trimmed.substring(0, slash);
        String prefix = slash < 0 ? "" : trimmed.substring(slash + 1);
        if (bucket.isEmpty()) {
            throw new IllegalArgumentException("storage grant \"" + text + "\": must be bucket or bucket/prefix");
        }
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        return new StorageGrant(bucket, prefix);
    }

    /** Whether the object (or every key under a prefix) is inside the grant. */
    public boolean covers(String bucket, String key) {
        return this.bucket.equals(bucket) && key.startsWith(prefix) && !key.contains("/../") && !key.startsWith("../");
    }

    @Override
    public String toString() {
        return bucket + "/" + prefix;
    }
}
