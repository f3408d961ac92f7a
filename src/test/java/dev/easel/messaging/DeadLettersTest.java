package dev.easel.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    private static final int MAX = 900_000;
    private final Map<String, byte[]> stored = new ConcurrentHashMap<>();
    private final DeadLetters deadLetters = new DeadLetters(new InMemoryRecordSender(), "easel.jobs.dlq", store(),
            "images", MAX);

    private static ConsumerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("easel.jobs", 2, 17, key, value);
        record.headers().add("ce_id", "e-1".getBytes(StandardCharsets.UTF_8));
        record.headers().add(DeadLetters.REASON, "an earlier attempt".getBytes(StandardCharsets.UTF_8));
        return record;
    }

    private static Map<String, String> strings(Headers headers) {
        Map<String, String> map = new LinkedHashMap<>();
        for (Header header : headers) {
            map.put(header.key(), new String(header.value(), StandardCharsets.UTF_8));
        }
        return map;
    }

    @Test
    void keepsTheOriginalBytesAndSaysWhy() throws IOException {
        byte[] value = {(byte) 0xff, 0, 1};
        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record("k".getBytes(StandardCharsets.UTF_8), value),
                "not JSON", new IllegalStateException("x"));

        assertThat(letter.topic()).isEqualTo("easel.jobs.dlq");
        assertThat(letter.value()).isEqualTo(value);
        assertThat(letter.key()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
        assertThat(strings(letter.headers())).containsExactly(
                Map.entry("ce_id", "e-1"),
                Map.entry("easel-dlq-reason", "not JSON"),
                Map.entry("easel-dlq-topic", "easel.jobs"),
                Map.entry("easel-dlq-partition", "2"),
                Map.entry("easel-dlq-offset", "17"),
                Map.entry("easel-dlq-exception", "java.lang.IllegalStateException"));
        assertThat(stored).isEmpty();
    }

    @Test
    void tombstoneWithoutKeyOrCause() throws IOException {
        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record(null, null), "record has no value", null);

        assertThat(letter.value()).isEmpty();
        assertThat(letter.key()).isNull();
        assertThat(strings(letter.headers())).doesNotContainKey("easel-dlq-exception");
    }

    /** The record: accepted by the broker, but its dead letter with headers was over the producer's limit. */
    @Test
    void aNearLimitRecordIsStoredWholeAndReferenced() throws IOException {
        byte[] value = new byte[1_048_400];
        Arrays.fill(value, (byte) 'x');

        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record("big".getBytes(StandardCharsets.UTF_8), value),
                "invalid job: prompt: too long", null);

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(letter.value()).hasSize(DeadLetters.KEPT_PREFIX);
        Map<String, String> headers = strings(letter.headers());
        assertThat(headers).containsEntry(DeadLetters.ORIGINAL_BYTES, "1048400")
                .containsEntry(DeadLetters.ORIGINAL, "s3://images/~dead-letters/easel.jobs/2/17")
                .containsEntry("ce_id", "e-1");
        assertThat(stored.get("images/~dead-letters/easel.jobs/2/17")).isEqualTo(value);
    }

    @Test
    void hugeHeadersAreDroppedNotSent() throws IOException {
        ConsumerRecord<byte[], byte[]> record = record(null, "{}".getBytes(StandardCharsets.UTF_8));
        record.headers().add("junk", new byte[1_000_000]);

        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record, "headers too big", null);

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(strings(letter.headers())).doesNotContainKey("junk").containsEntry(DeadLetters.HEADERS_DROPPED, "true");
    }

    /**
     * Headers are counted as the broker counts them: many headers with multibyte keys are twice as
     * many bytes as characters, plus each one's framing; counted in characters they were kept, and
     * the letter went past the limit.
     */
    @Test
    void manyMultibyteHeadersAreCountedInBytesAndDropped() throws IOException {
        ConsumerRecord<byte[], byte[]> record = record(null, "{}".getBytes(StandardCharsets.UTF_8));
        String key = "é".repeat(200); // 200 characters, 400 bytes of UTF-8
        for (int i = 0; i < 2_200; i++) { // 449,000 characters with their numbers; 910,000 bytes with framing
            record.headers().add(key + i, new byte[0]);
        }

        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record, "headers near the limit", null);

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(strings(letter.headers())).containsEntry(DeadLetters.HEADERS_DROPPED, "true");
    }

    @Test
    void hugeKeyIsStoredWholeAndTheLetterKeepsItsStart() throws IOException {
        byte[] key = new byte[1_000_000];
        Arrays.fill(key, (byte) 'k');
        byte[] value = new byte[200_000];
        Arrays.fill(value, (byte) 'v');

        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record(key, value), "key too big", null);

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(letter.key()).isEqualTo(Arrays.copyOf(key, DeadLetters.KEPT_KEY));
        assertThat(strings(letter.headers()))
                .containsEntry(DeadLetters.ORIGINAL_KEY, "s3://images/~dead-letters/easel.jobs/2/17.key")
                .containsEntry(DeadLetters.ORIGINAL_KEY_BYTES, "1000000")
                .doesNotContainKey(DeadLetters.ORIGINAL);
        assertThat(stored.get("images/~dead-letters/easel.jobs/2/17.key")).isEqualTo(key);
        assertThat(letter.value()).isEqualTo(value);
    }

    @Test
    void hugeKeyAndHugeValueAreBothStored() throws IOException {
        byte[] key = new byte[850_000];
        byte[] value = new byte[950_000];
        Arrays.fill(value, (byte) 'v');

        ProducerRecord<byte[], byte[]> letter = deadLetters.letter(record(key, value), "both too big", null);

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(strings(letter.headers()))
                .containsEntry(DeadLetters.ORIGINAL_KEY_BYTES, "850000")
                .containsEntry(DeadLetters.ORIGINAL_BYTES, "950000");
        assertThat(stored.get("images/~dead-letters/easel.jobs/2/17.key")).isEqualTo(key);
        assertThat(stored.get("images/~dead-letters/easel.jobs/2/17")).isEqualTo(value);
    }

    @Test
    void withTheStoreDownTheLetterKeepsThePrefixAndSaysWhy() {
        byte[] key = new byte[850_000];
        byte[] value = new byte[950_000];
        Arrays.fill(value, (byte) 'v');

        ProducerRecord<byte[], byte[]> letter = deadLetters.letterWithoutStore(record(key, value), "storage down", null,
                "connection refused");

        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
        assertThat(letter.value()).hasSize(DeadLetters.KEPT_PREFIX);
        assertThat(letter.key()).hasSize(DeadLetters.KEPT_KEY);
        assertThat(strings(letter.headers()))
                .containsEntry(DeadLetters.NOT_STORED, "connection refused")
                .containsEntry(DeadLetters.ORIGINAL_BYTES, "950000")
                .containsEntry(DeadLetters.ORIGINAL_KEY_BYTES, "850000")
                .doesNotContainKey(DeadLetters.ORIGINAL)
                .doesNotContainKey(DeadLetters.ORIGINAL_KEY);
        assertThat(stored).isEmpty();
    }

    @Test
    void aSmallRecordNeedsNoStoreSoItsLetterIsWhole() {
        byte[] value = "{\"x\":1}".getBytes(StandardCharsets.UTF_8);

        ProducerRecord<byte[], byte[]> letter = deadLetters.letterWithoutStore(record("k".getBytes(StandardCharsets.UTF_8),
                value), "invalid", null, "connection refused");

        assertThat(letter.value()).isEqualTo(value);
        assertThat(strings(letter.headers())).doesNotContainKey(DeadLetters.NOT_STORED);
    }

    /** At the smallest setting an ordinary key is kept as it is: not stored, not padded. */
    @Test
    void theSmallestSettingKeepsAnOrdinaryKeyWhole() throws IOException {
        int smallest = DeadLetters.KEPT_PREFIX + 8192 + DeadLetters.KEPT_KEY;
        assertThatThrownBy(() -> new DeadLetters(null, "dlq", store(), "images", smallest - 1))
                .hasMessage("easel.worker.dead-letter-max-bytes must be at least " + smallest + ", got " + (smallest - 1));
        DeadLetters small = new DeadLetters(null, "dlq", store(), "images", smallest);
        byte[] key = "job-0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
        byte[] value = new byte[100_000];

        ProducerRecord<byte[], byte[]> letter = small.letter(record(key, value), "too big", null);

        assertThat(letter.key()).isEqualTo(key);
        assertThat(size(letter)).isLessThanOrEqualTo(smallest);
        assertThat(stored).containsOnlyKeys("images/~dead-letters/easel.jobs/2/17");
    }

    /** The letter's size as the record's wire format counts it: UTF-8 header keys, each header's framing. */
    private static int size(ProducerRecord<byte[], byte[]> letter) {
        int size = (letter.key() == null ? 0 : letter.key().length) + letter.value().length;
        for (Header header : letter.headers()) {
            size += header.key().getBytes(StandardCharsets.UTF_8).length + header.value().length
                    + DeadLetters.HEADER_FRAMING;
        }
        return size;
    }

    private ObjectStore store() {
        return new ObjectStore() {
            @Override
            public void put(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata) {
                stored.put(bucket + "/" + key, bytes);
            }

            @Override
            public boolean putIfAbsent(String bucket, String key, byte[] bytes, String contentType,
                                       Map<String, String> metadata) {
                return stored.putIfAbsent(bucket + "/" + key, bytes) == null;
            }

            @Override
            public Optional<StoredObject> get(String bucket, String key, int maxBytes) {
                return Optional.empty();
            }

            @Override
            public boolean bucketExists(String bucket) {
                return true;
            }

            @Override
            public boolean exists(String bucket, String key) {
                return stored.containsKey(bucket + "/" + key);
            }

            @Override
            public URI presignGet(String bucket, String key, Duration ttl) {
                return URI.create("http://test/" + key);
            }
        };
    }
}
