package dev.easel.worker;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One job of a tenant and id at a time on this worker: a re-post of a job still running here (the
 * documented answer to a 503 or an unconfirmed submission) waits for the first run's answer and is
 * then answered from its manifest, instead of running beside it and answering it a second,
 * different time. Runs on two workers at once (a rebalance) are not covered: docs/reliability.md.
 */
final class SameJobLocks {

    private final Map<String, Entry> entries = new HashMap<>();

    private static final class Entry {
        final ReentrantLock lock = new ReentrantLock();
        int holders; // guarded by SameJobLocks.this
    }

    /** Held until closed; waits while another run of the same job holds it. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    Held hold(String tenant, String jobId) {
        String key = tenant + "/" + jobId;
        Entry entry;
        synchronized (this) {
            entry = entries.computeIfAbsent(key, k -> new Entry());
            entry.holders++;
        }
        entry.lock.lock();
        return () -> {
            entry.lock.unlock();
            synchronized (this) {
                if (--entry.holders == 0) {
                    entries.remove(key);
                }
            }
        };
    }

    /** Jobs held or waited for: for tests. */
    synchronized int size() {
        return entries.size();
    }
}
