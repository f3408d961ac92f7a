package dev.easel.messaging;

import dev.easel.config.S3Config;
import dev.easel.config.TopicsConfig;
import dev.easel.config.WorkerConfig;
import dev.easel.store.ObjectStore;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes job records that cannot run (unreadable, invalid, poison) to the dead-letter topic: the
 * original key, value and headers byte for byte, so the record can be inspected and replayed as
 * sent, plus {@code easel-dlq-*} headers saying why and where from.
 *
 * <p>A dead letter never exceeds {@code easel.worker.dead-letter-max-bytes}, whatever the
 * original's size (the broker accepts records somewhat larger than the producer will send, and a
 * dead letter adds headers): a bigger original is stored whole in the object store under
 * {@value #ORIGINALS} in the default bucket, and the record carries a prefix of its value,
 * {@value #ORIGINAL} naming the stored copy and {@value #ORIGINAL_BYTES} its size. A key too big
 * to leave room for that prefix is stored the same way ({@value #ORIGINAL_KEY}, {@value
 * #ORIGINAL_KEY_BYTES}) and the record keeps the key's first {@value #KEPT_KEY} bytes.
 */
@Singleton
public class DeadLetters {

    public static final String REASON = "easel-dlq-reason";
    public static final String TOPIC = "easel-dlq-topic";
    public static final String PARTITION = "easel-dlq-partition";
    public static final String OFFSET = "easel-dlq-offset";
    public static final String EXCEPTION = "easel-dlq-exception";
    /** {@code s3://bucket/key} of the whole original, when the record holds only a prefix. */
    public static final String ORIGINAL = "easel-dlq-original";
    /** The original value's size in bytes, when the record holds only a prefix of it. */
    public static final String ORIGINAL_BYTES = "easel-dlq-original-bytes";
    /** {@code s3://bucket/key} of the whole original record key, when the record holds only a prefix. */
    public static final String ORIGINAL_KEY = "easel-dlq-original-key";
    /** The original key's size in bytes, when the record holds only a prefix of it. */
    public static final String ORIGINAL_KEY_BYTES = "easel-dlq-original-key-bytes";
    /**
     * Set, to the storage fault, when an oversized original (value or key) could not be stored: the
     * letter then holds only its prefix, which beats no letter at all.
     */
    public static final String NOT_STORED = "easel-dlq-original-not-stored";
    /** Set when the original's own headers were too big to keep; the stored copy has none of them. */
    public static final String HEADERS_DROPPED = "easel-dlq-headers-dropped";
    static final String ORIGINALS = "~dead-letters/";
    private static final String PREFIX = "easel-dlq-";
    /**
     * Room for the easel-dlq-* headers (a reason of 1024 characters is up to 3 KB of UTF-8, a topic
     * 249, the stored originals' URIs and sizes) and Kafka's per-record framing.
     */
    private static final int OVERHEAD = 8192;
    /** A header's framing in a record batch: the varints of its key's and value's lengths (5 bytes each at most). */
    static final int HEADER_FRAMING = 10;
    /** How much of an oversized value the record keeps: enough to see what it was. */
    static final int KEPT_PREFIX = 64 * 1024;
    /** How much of an oversized key the record keeps. */
    static final int KEPT_KEY = 1024;

    private final RecordSender sender;
    private final String topic;
    private final ObjectStore store;
    private final String bucket;
    private final int maxBytes;

    @Inject
    DeadLetters(KafkaSenders senders, TopicsConfig topics, ObjectStore store, S3Config s3, WorkerConfig worker) {
        this(senders.answers(), topics.deadLetters(), store, s3.bucket(), worker.deadLetterMaxBytes());
    }

    public DeadLetters(RecordSender sender, String topic, ObjectStore store, String bucket, int maxBytes) {
        if (maxBytes < KEPT_PREFIX + OVERHEAD + KEPT_KEY) {
            throw new IllegalArgumentException("easel.worker.dead-letter-max-bytes must be at least "
                    + (KEPT_PREFIX + OVERHEAD + KEPT_KEY) + ", got " + maxBytes);
        }
        this.sender = sender;
        this.topic = topic;
        this.store = store;
        this.bucket = bucket;
        this.maxBytes = maxBytes;
    }

    /**
     * The dead letter of a record, within the size bound: stores an oversized original first.
     *
     * @param reason one line: why it cannot be processed
     * @param cause  the exception that made it poison, or null when it was merely unreadable or invalid
     * @throws IOException if an oversized original could not be stored (retry)
     */
    public ProducerRecord<byte[], byte[]> letter(ConsumerRecord<byte[], byte[]> record, String reason, Throwable cause)
            throws IOException {
        return build(record, reason, cause, this::storeOriginal);
    }

    /**
     * The dead letter of a record when the store cannot take its oversized original: the same
     * bounded letter, with the prefix only and {@value #NOT_STORED} saying why.
     *
     * @param storeFault what the store answered
     */
    public ProducerRecord<byte[], byte[]> letterWithoutStore(ConsumerRecord<byte[], byte[]> record, String reason,
            Throwable cause, String storeFault) {
        Originals none = new Originals() {
            @Override
            public Optional<String> keep(String objectKey, byte[] bytes, String why) {
                return Optional.empty();
            }

            @Override
            public Optional<String> fault() {
                return Optional.of(storeFault == null ? "unknown" : storeFault);
            }
        };
        try {
            return build(record, reason, cause, none);
        } catch (IOException e) {
            throw new IllegalStateException("nothing is stored, so nothing can fail to be", e);
        }
    }

    /** Where the oversized parts of an original go. */
    private interface Originals {
        /** Keeps one; its {@code s3://} name, or empty when it is not kept. */
        Optional<String> keep(String objectKey, byte[] bytes, String reason) throws IOException;

        /** Why nothing is kept, when nothing is. */
        default Optional<String> fault() {
            return Optional.empty();
        }
    }

    private Optional<String> storeOriginal(String objectKey, byte[] bytes, String reason) throws IOException {
        store.put(bucket, objectKey, bytes, "application/octet-stream", Map.of("reason", ascii(reason)));
        return Optional.of("s3://" + bucket + "/" + objectKey);
    }

    private ProducerRecord<byte[], byte[]> build(ConsumerRecord<byte[], byte[]> record, String reason, Throwable cause,
            Originals originals) throws IOException {
        // A tombstone has no value to keep.
        byte[] value = record.value() == null ? new byte[0] : record.value();
        Headers headers = new RecordHeaders();
        int originalHeaderBytes = 0;
        for (Header header : record.headers()) {
            // A replayed dead letter that fails again gets this attempt's reasons only.
            if (!header.key().startsWith(PREFIX)) {
                headers.add(header);
                // As the record's wire format counts a header: its key's UTF-8 bytes, its value's, and
                // their length varints (at most 5 bytes each) with the header count's share.
                originalHeaderBytes += header.key().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                        + (header.value() == null ? 0 : header.value().length) + HEADER_FRAMING;
            }
        }
        String stored = ORIGINALS + record.topic() + "/" + record.partition() + "/" + record.offset();
        byte[] key = record.key();
        // A key that leaves no room for the value's prefix (the broker takes keys near its record
        // limit) is stored whole; the letter keeps the start of it, enough to see what it was.
        boolean storeKey = key != null && key.length > maxBytes - OVERHEAD - KEPT_PREFIX;
        Optional<String> keyCopy = Optional.empty();
        if (storeKey) {
            keyCopy = originals.keep(stored + ".key", key, reason);
            key = Arrays.copyOf(key, Math.min(key.length, KEPT_KEY));
        }
        int keyBytes = key == null ? 0 : key.length;
        int budget = maxBytes - OVERHEAD - keyBytes;
        boolean dropHeaders = originalHeaderBytes > budget - KEPT_PREFIX;
        if (dropHeaders) {
            headers = new RecordHeaders();
            originalHeaderBytes = 0;
        }
        boolean prefixOnly = value.length + originalHeaderBytes > budget;
        if (prefixOnly) {
            Headers into = headers;
            originals.keep(stored, value, reason).ifPresent(uri -> add(into, ORIGINAL, uri));
            add(headers, ORIGINAL_BYTES, Integer.toString(value.length));
            value = Arrays.copyOf(value, Math.min(value.length, KEPT_PREFIX));
        }
        if (storeKey) {
            Headers into = headers;
            keyCopy.ifPresent(uri -> add(into, ORIGINAL_KEY, uri));
            add(headers, ORIGINAL_KEY_BYTES, Integer.toString(record.key().length));
        }
        if (storeKey || prefixOnly) {
            Headers into = headers;
            originals.fault().ifPresent(fault -> add(into, NOT_STORED, truncate(fault, 256)));
        }
        if (dropHeaders) {
            add(headers, HEADERS_DROPPED, "true");
        }
        add(headers, REASON, truncate(reason, 1024));
        add(headers, TOPIC, record.topic());
        add(headers, PARTITION, Integer.toString(record.partition()));
        add(headers, OFFSET, Long.toString(record.offset()));
        if (cause != null) {
            add(headers, EXCEPTION, cause.getClass().getName());
        }
        return new ProducerRecord<>(topic, null, key, value, headers);
    }

    /** Sends a letter from {@link #letter}; the future completes when the broker has it. */
    public CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> letter) {
        return sender.send(letter);
    }

    private static String truncate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max) + "…";
    }

    /** Object metadata is printable ASCII: the reason as far as it is. */
    private static String ascii(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : truncate(text, 200).toCharArray()) {
            out.append(c >= 0x20 && c <= 0x7e ? c : '?');
        }
        return out.toString().strip();
    }

    private static void add(Headers headers, String key, String value) {
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
}
