package dev.easel.worker;

import dev.easel.contract.Job;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Rewrite;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Models rewritten for jobs' {@code rewrite}, least recently used first out, at most
 * {@code maxCached} kept ({@code easel.worker.rewrites.max-cached}; 0: built and closed per job).
 * Jobs hold a {@link Lease}; an entry leaves the cache at once when evicted but its UNet session
 * is closed only when its last job releases it (closing a session under a running job crashes the
 * JVM in native code). Thread-safe.
 */
final class RewrittenModels {

    /** What a rewritten model is built from: the base's name and the edit. */
    record Key(String model, Rewrite rewrite) {
    }

    /** A job's use of a model; {@link #close} releases it. Not shared between jobs. */
    interface Lease extends AutoCloseable {

        DiffusionPipeline pipeline();

        /** Releases the model; nothing to do for a base model, which the registry owns. */
        @Override
        default void close() {
        }
    }

    /** One rewritten model and how many jobs use it; guarded by the cache's lock. */
    private static final class Entry {
        final DiffusionPipeline pipeline;
        int users;
        boolean evicted;

        Entry(DiffusionPipeline pipeline) {
            this.pipeline = pipeline;
        }
    }

    private final int maxCached;
    private final GenerationLimits limits;
    private final UnetBatcher.Settings batching;
    /** Access order: the first entry is the least recently used. */
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicInteger builds = new AtomicInteger();
    private final AtomicInteger closes = new AtomicInteger();

    RewrittenModels(int maxCached, GenerationLimits limits, UnetBatcher.Settings batching) {
        if (maxCached < 0) {
            throw new IllegalArgumentException("easel.worker.rewrites.max-cached: must be ≥ 0, got " + maxCached);
        }
        this.maxCached = maxCached;
        this.limits = limits;
        this.batching = batching;
    }

    /**
     * The pipeline the job runs on: {@code base} itself for a job without {@code rewrite}, else its
     * rewritten model, cached or built now.
     *
     * @throws InvalidRequestException naming the job's field (e.g. {@code rewrite.erase}) for an
     *                                 edit the model cannot make, such as a concept with no tokens
     */
    Lease lease(Job job, DiffusionPipeline base) {
        if (job.rewrite().isEmpty()) {
            return () -> base;
        }
        Key key = new Key(job.model(), job.rewrite().get().toEngine());
        // Built under the lock: concurrent rewrite jobs wait (plain jobs do not), and an edit is
        // never built twice at once.
        synchronized (this) {
            Entry entry = entries.get(key);
            if (entry == null) {
                entry = new Entry(build(key, base));
                if (maxCached > 0) {
                    entries.put(key, entry);
                    evictBeyond(maxCached);
                } else {
                    entry.evicted = true; // not cached: closed when this job releases it
                }
            }
            entry.users++;
            Entry held = entry;
            return new Lease() {
                private boolean released;

                @Override
                public DiffusionPipeline pipeline() {
                    return held.pipeline;
                }

                @Override
                public void close() {
                    if (!released) {
                        released = true;
                        release(held);
                    }
                }
            };
        }
    }

    private DiffusionPipeline build(Key key, DiffusionPipeline base) {
        try {
            DiffusionPipeline built = new DiffusionPipeline(base.model().rewritten(key.rewrite()), limits, batching);
            builds.incrementAndGet();
            return built;
        } catch (InvalidRequestException e) {
            String problem = e.getMessage().startsWith(e.field() + ": ")
                    ? e.getMessage().substring(e.field().length() + 2) : e.getMessage();
            throw new InvalidRequestException(Job.Rewrite.jobField(e.field()), problem);
        }
    }

    private synchronized void release(Entry entry) {
        entry.users--;
        if (entry.evicted && entry.users == 0) {
            close(entry);
        }
    }

    private void evictBeyond(int size) {
        Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator();
        while (entries.size() > size && it.hasNext()) {
            Entry old = it.next().getValue();
            it.remove();
            old.evicted = true;
            if (old.users == 0) {
                close(old);
            }
        }
    }

    private void close(Entry entry) {
        entry.pipeline.model().close();
        closes.incrementAndGet();
    }

    /** How many rewritten models have been closed: for tests. */
    int closes() {
        return closes.get();
    }

    /** At shutdown, after the jobs have drained: closes every cached model (before their bases). */
    synchronized void closeAll() {
        evictBeyond(0);
    }

    /** How many rewritten models have been built: for tests of the reuse. */
    int builds() {
        return builds.get();
    }

    /** How many are cached now. */
    synchronized int cached() {
        return entries.size();
    }
}
