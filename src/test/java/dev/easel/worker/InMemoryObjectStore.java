package dev.easel.worker;

import dev.easel.contract.ObjectFetcher;
import dev.easel.store.ObjectStore;
import dev.easel.store.StoredObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** An {@link ObjectStore} in a map, recording the order of puts; {@link #failPuts()} makes storage fail. */
final class InMemoryObjectStore implements ObjectStore, ObjectFetcher {

    final Map<String, StoredObject> objects = new ConcurrentHashMap<>();
    final List<String> puts = new ArrayList<>();
    private volatile boolean failing;
    /** Storage calls still to fail before storage comes back; 0: working. */
    private final java.util.concurrent.atomic.AtomicInteger outage = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.Set<String> missingBuckets = ConcurrentHashMap.newKeySet();

    /** The put of a key ending so throws this: an Error (a bug, an exhausted heap) or an IOException (storage refusing it). */
    private volatile Map.Entry<String, Throwable> brokenPut;

    /** Called with each put's key before it is carried out: another writer acting meanwhile. */
    volatile java.util.function.Consumer<String> beforePut = key -> { };

    /** The next put of a key ending so is stored, then fails as if its answer were lost (a reset connection). */
    volatile String loseAnswerOf;

    void breakPutOf(String keySuffix, Throwable failure) {
        if (!(failure instanceof Error || failure instanceof IOException || failure instanceof RuntimeException)) {
            throw new IllegalArgumentException("a put cannot throw " + failure);
        }
        brokenPut = Map.entry(keySuffix, failure);
    }

    /** Every put fails from now on. */
    void failPuts() {
        failing = true;
    }

    /** The next {@code calls} storage calls (of any kind) fail, as in an outage; then storage is back. */
    void outage(int calls) {
        outage.set(calls);
    }

    private void checkOutage() throws IOException {
        if (outage.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("connection refused (test outage)");
        }
    }

    @Override
    public boolean bucketExists(String bucket) throws IOException {
        checkOutage();
        return !missingBuckets.contains(bucket);
    }

    @Override
    public synchronized void put(String bucket, String key, byte[] bytes, String contentType, Map<String, String> metadata)
            throws IOException {
        write(bucket, key, new StoredObject(bytes.clone(), contentType, metadata), false);
    }

    /** Atomic, as S3's conditional write: the check and the write under one lock. */
    @Override
    public synchronized boolean putIfAbsent(String bucket, String key, byte[] bytes, String contentType,
                                            Map<String, String> metadata) throws IOException {
        return write(bucket, key, new StoredObject(bytes.clone(), contentType, metadata), true);
    }

    private boolean write(String bucket, String key, StoredObject object, boolean ifAbsent) throws IOException {
        beforePut.accept(key);
        checkOutage();
        if (failing) {
            throw new IOException("storage is down");
        }
        Map.Entry<String, Throwable> broken = brokenPut;
        if (broken != null && key.endsWith(broken.getKey())) {
            if (broken.getValue() instanceof Error e) {
                throw e;
            }
            if (broken.getValue() instanceof IOException e) {
                throw e;
            }
            throw (RuntimeException) broken.getValue();
        }
        if (missingBuckets.contains(bucket)) {
            throw new dev.easel.store.PermanentStorageException("NoSuchBucket " + bucket, null);
        }
        if (ifAbsent && objects.containsKey(bucket + "/" + key)) {
            return false;
        }
        objects.put(bucket + "/" + key, object);
        puts.add(bucket + "/" + key);
        String lost = loseAnswerOf;
        if (lost != null && key.endsWith(lost)) {
            loseAnswerOf = null;
            throw new IOException("connection reset after the request was sent (test)");
        }
        return true;
    }

    @Override
    public Optional<StoredObject> get(String bucket, String key, int maxBytes) throws IOException {
        checkOutage();
        return Optional.ofNullable(objects.get(bucket + "/" + key));
    }

    @Override
    public boolean exists(String bucket, String key) throws IOException {
        checkOutage();
        return objects.containsKey(bucket + "/" + key);
    }

    /** How many presigns fail next, as a credentials refresh that does not answer would. */
    final java.util.concurrent.atomic.AtomicInteger failingPresigns = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public URI presignGet(String bucket, String key, Duration ttl) {
        if (failingPresigns.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new java.io.UncheckedIOException(new IOException("credentials could not be refreshed (test)"));
        }
        return URI.create("http://store.test/" + bucket + "/" + key + "?X-Amz-Signature=test");
    }

    @Override
    public InputStream open(String bucket, String key) throws IOException {
        StoredObject object = objects.get(bucket + "/" + key);
        if (object == null) {
            throw new NotFoundException("no object " + key);
        }
        return new ByteArrayInputStream(object.bytes());
    }
}
