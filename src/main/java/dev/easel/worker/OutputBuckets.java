package dev.easel.worker;

import dev.easel.store.ObjectStore;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Whether a job's {@code output.bucket} can take its images, asked of the store once per bucket
 * and remembered for {@link #TTL}, so a job for a missing bucket is refused before it generates,
 * at the cost of one request per bucket and period, not per job.
 */
final class OutputBuckets {

    static final Duration TTL = Duration.ofMinutes(5);

    private record Known(boolean usable, long until) {
    }

    private final ObjectStore store;
    private final ConcurrentMap<String, Known> known = new ConcurrentHashMap<>();

    OutputBuckets(ObjectStore store) {
        this.store = store;
    }

    /** @throws IOException if storage failed: the answer is unknown, and not remembered */
    boolean usable(String bucket) throws IOException {
        long now = System.nanoTime();
        Known cached = known.get(bucket);
        if (cached != null && now - cached.until() < 0) {
            return cached.usable();
        }
        boolean usable = store.bucketExists(bucket);
        known.put(bucket, new Known(usable, now + TTL.toNanos()));
        return usable;
    }
}
