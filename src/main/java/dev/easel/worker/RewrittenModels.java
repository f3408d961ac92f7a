package dev.easel.worker;

import dev.easel.contract.Job;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.engine.pipeline.Lora;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Models rewritten for jobs' {@code rewrite} or adapted for their {@code loras}, least recently used first out, at most
 * {@code maxCached} kept ({@code easel.worker.rewrites.max-cached}; 0: built and closed per job).
 * Jobs hold a {@link Lease}; an entry leaves the cache at once when evicted but its UNet session
 * is closed only when its last job releases it (closing a session under a running job crashes the
 * JVM in native code). A model is built outside the cache's lock, once: jobs that need the same
 * edit wait for that build, all other jobs (other edits, cached ones, releases) go on meanwhile.
 * Thread-safe.
 */
final class RewrittenModels {

    /**
     * What a rewritten model is built from: the base's name and the edit, or the LoRA adapters
     * (names and effective scales, in the job's order; the contract refuses both in one job).
     */
    record Key(String model, Optional<Rewrite> rewrite, List<Adapter> loras) {

        Key {
            loras = List.copyOf(loras);
        }

        /** The job's model and what it asks to be patched. */
        static Key of(Job job) {
            List<Adapter> adapters = job.loras().orElse(List.of()).stream()
                    .map(l -> new Adapter(l.name(), l.effectiveScale())).toList();
            return new Key(job.model(), job.rewrite().map(Job.Rewrite::toEngine), adapters);
        }
    }

    /** One adapter of a key: {@code {name: a}} and {@code {name: a, scale: 1}} are the same model. */
    record Adapter(String name, double scale) {
    }

    /** A job's use of a model; {@link #close} releases it. Not shared between jobs. */
    interface Lease extends AutoCloseable {

        DiffusionPipeline pipeline();

        /** Releases the model; nothing to do for a base model, which the registry owns. */
        @Override
        default void close() {
        }
    }

    /**
     * One rewritten model, built or being built, and how many jobs use it; {@code users} and
     * {@code evicted} are guarded by the cache's lock.
     */
    private static final class Entry {
        final CompletableFuture<DiffusionPipeline> pipeline = new CompletableFuture<>();
        int users;
        boolean evicted;
    }

    private final int maxCached;
    private final GenerationLimits limits;
    private final UnetBatcher.Settings batching;
    /** Access order: the first entry is the least recently used. */
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicInteger builds = new AtomicInteger();
    private final AtomicInteger closes = new AtomicInteger();
    private volatile LoraLibrary loras = LoraLibrary.none();
    /** Runs before each build, on the building job's thread: for tests of concurrent builds. */
    private volatile Consumer<Key> beforeBuild = key -> { };

    RewrittenModels(int maxCached, GenerationLimits limits, UnetBatcher.Settings batching) {
        if (maxCached < 0) {
            throw new IllegalArgumentException("easel.worker.rewrites.max-cached: must be ≥ 0, got " + maxCached);
        }
        this.maxCached = maxCached;
        this.limits = limits;
        this.batching = batching;
    }

    /**
     * The pipeline the job runs on: {@code base} itself for a job without {@code rewrite} or
     * {@code loras}, else its rewritten or adapted model, cached or built now.
     *
     * @throws InvalidRequestException naming the job's field (e.g. {@code rewrite.erase}) for an
     *                                 edit the model cannot make, such as a concept with no tokens,
     *                                 or {@code loras[i].name} for an adapter that does not fit it
     */
    Lease lease(Job job, DiffusionPipeline base) {
        if (job.rewrite().isEmpty() && job.loras().isEmpty()) {
            return () -> base;
        }
        Key key = Key.of(job);
        Entry entry;
        boolean builder;
        synchronized (this) {
            entry = entries.get(key);
            builder = entry == null;
            if (builder) {
                entry = new Entry();
                if (maxCached > 0) {
                    entries.put(key, entry);
                    evictBeyond(maxCached);
                } else {
                    entry.evicted = true; // not cached: closed when this job releases it
                }
            }
            entry.users++;
        }
        if (builder) {
            try {
                entry.pipeline.complete(build(key, base));
            } catch (RuntimeException | Error e) {
                entry.pipeline.completeExceptionally(e);
                forget(key, entry);
            }
        }
        DiffusionPipeline pipeline;
        try {
            pipeline = entry.pipeline.join();
        } catch (CompletionException e) {
            release(entry);
            // The builder's own exception (an InvalidRequestException names the job's field), for
            // every job that waited on the same edit.
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error; // an OutOfMemoryError stays one: the job fails retryable, as when it runs out itself
            }
            throw e;
        }
        Entry held = entry;
        return new Lease() {
            private boolean released;

            @Override
            public DiffusionPipeline pipeline() {
                return pipeline;
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

    /** A failed build leaves the cache, so the next job with that edit tries again. */
    private synchronized void forget(Key key, Entry entry) {
        if (entries.get(key) == entry) {
            entries.remove(key);
        }
        entry.evicted = true;
    }

    private DiffusionPipeline build(Key key, DiffusionPipeline base) {
        beforeBuild.accept(key);
        if (key.rewrite().isEmpty()) {
            // Errors name loras[i].name already, as the job does.
            DiffusionPipeline built = new DiffusionPipeline(base.model().withLoras(adapters(key)), limits, batching);
            builds.incrementAndGet();
            return built;
        }
        try {
            DiffusionPipeline built = new DiffusionPipeline(base.model().rewritten(key.rewrite().get()), limits,
                    batching);
            builds.incrementAndGet();
            return built;
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException(Job.Rewrite.jobField(e.field()), e.problem());
        }
    }

    /** The key's adapters as files; one removed since intake fails the job naming it. */
    private List<Lora> adapters(Key key) {
        List<Lora> out = new ArrayList<>();
        LoraLibrary library = loras;
        for (int i = 0; i < key.loras().size(); i++) {
            Adapter a = key.loras().get(i);
            out.add(library.lora(a.name(), a.scale()).orElseThrow(() -> new InvalidRequestException(
                    Job.Lora.nameField(out.size()), "is not an adapter this worker has, got \"" + a.name() + "\"")));
        }
        return out;
    }

    /** For tests: runs before each build on the building job's thread. */
    void beforeBuild(Consumer<Key> hook) {
        this.beforeBuild = hook;
    }

    /** Where adapter names are looked up; set by the registry before any job. */
    void loras(LoraLibrary library) {
        this.loras = library;
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
        // Only a model that was built: a failed build has nothing to close.
        if (entry.pipeline.isDone() && !entry.pipeline.isCompletedExceptionally()) {
            entry.pipeline.join().model().close();
            closes.incrementAndGet();
        }
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
