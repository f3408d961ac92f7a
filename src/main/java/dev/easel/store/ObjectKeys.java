package dev.easel.store;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Checks bucket names, object keys and user metadata before they reach S3, so a bad name fails
 * here with the rule it broke instead of as an opaque 400 (or, worse, as a different key after
 * an HTTP client or S3-compatible server normalised it).
 */
public final class ObjectKeys {

    /** S3's limit on a key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = 1024;
    /** S3's limit on user metadata: keys and values, in UTF-8 bytes. */
    public static final int MAX_METADATA_BYTES = 2048;

    // S3's general-purpose bucket rules: 3-63 characters of a-z 0-9 . -, starting and ending
    // with a letter or digit. Upper case and underscores only ever worked in us-east-1's legacy mode.
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern IPV4 = Pattern.compile("\\d+\\.\\d+\\.\\d+\\.\\d+");
    // Lower case because S3 returns metadata keys lower-cased; no '_' because proxies drop such headers.
    private static final Pattern METADATA_KEY = Pattern.compile("[a-z0-9][a-z0-9-]*");

    private ObjectKeys() {
    }

    /** @throws IllegalArgumentException naming the rule, if S3 would refuse the bucket name */
    public static String checkBucket(String bucket) {
        if (bucket == null || !BUCKET.matcher(bucket).matches() || bucket.contains("..")
                || IPV4.matcher(bucket).matches()) {
            throw new IllegalArgumentException("bucket: must be 3-63 characters of a-z 0-9 . -, start and end with a"
                    + " letter or digit, have no \"..\" and not look like an IP address, got " + quote(bucket));
        }
        return bucket;
    }

    /**
     * Keys are {@code /}-separated segments, none of them empty, {@code .} or {@code ..}: such
     * keys are legal in S3 but URL normalisation (in clients, proxies and presigned URLs) and
     * file-backed S3 servers turn them into other keys. No control characters, at most
     * {@value #MAX_KEY_BYTES} UTF-8 bytes.
     *
     * @throws IllegalArgumentException naming the rule, if the key breaks one
     */
    public static String checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("key: must not be empty");
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key: must be at most " + MAX_KEY_BYTES + " UTF-8 bytes, got " + bytes
                    + ": " + quote(key));
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isISOControl(c)) {
                throw new IllegalArgumentException("key: must not contain control characters (U+"
                        + String.format("%04X", (int) c) + " at " + i + "): " + quote(key));
            }
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("key: segments between '/' must not be empty, \".\" or \"..\""
                        + " (no leading, trailing or double '/'), got " + quote(key));
            }
        }
        return key;
    }

    /**
     * Metadata travels as HTTP headers ({@code x-amz-meta-KEY: VALUE}), so keys are lower-case
     * {@code a-z 0-9 -} and values printable ASCII without surrounding spaces (which HTTP would
     * strip); at most {@value #MAX_METADATA_BYTES} bytes in all, as on S3.
     *
     * @throws IllegalArgumentException naming the entry and the rule, if one breaks it
     */
    public static Map<String, String> checkMetadata(Map<String, String> metadata) {
        int total = 0;
        for (Map.Entry<String, String> entry : metadata.entrySet()) {
            String key = entry.getKey();
            String value = entry.getValue();
            if (!METADATA_KEY.matcher(key).matches()) {
                throw new IllegalArgumentException("metadata key: must be a-z 0-9 - starting with a letter or digit, got "
                        + quote(key));
            }
            if (!value.chars().allMatch(c -> c >= 0x20 && c <= 0x7e) || !value.strip().equals(value)) {
                throw new IllegalArgumentException("metadata " + key + ": must be printable ASCII without leading or"
                        + " trailing spaces, got " + quote(value));
            }
            total += key.length() + value.length();
        }
        if (total > MAX_METADATA_BYTES) {
            throw new IllegalArgumentException("metadata: must be at most " + MAX_METADATA_BYTES
                    + " bytes of keys and values, got " + total);
        }
        return metadata;
    }

    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        return "\"" + (s.length() > 80 ? s.substring(0, 80) + "…" : s) + "\"";
    }
}
