package dev.easel.chaos;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One job or record a scenario sent, and what it expects back. The id is the record key (and the
 * job's {@code id} where the value has one); dead letters are matched by key and by the original
 * partition and offset the broker acknowledged.
 */
final class SentJob {

    enum Kind {
        /** A valid job: exactly one final answer, {@code completed}. */
        VALID,
        /** Readable JSON with an id, but not a valid job: a dead letter and a {@code failed} event (not retryable). */
        INVALID,
        /** Not a job at all (garbage, wrong content type, broken CloudEvent): a dead letter; a failed event may come. */
        MALFORMED,
        /** Larger than the worker takes: a dead letter (of a bounded prefix); a failed event may come. */
        OVERSIZED
    }

    /** How a pushed job's HTTP deliveries ended. */
    record PushAnswer(int status, String body, int attempts) {
    }

    private final String id;
    private final Kind kind;
    private final String label;
    private final JobSpec spec;
    private final boolean pushed;
    private final List<long[]> acked = new CopyOnWriteArrayList<>();
    private volatile PushAnswer push;
    private volatile long sentAtMillis;
    private volatile String refusedByBroker;

    SentJob(String id, Kind kind, String label, JobSpec spec, boolean pushed) {
        this.id = id;
        this.kind = kind;
        this.label = label;
        this.spec = spec;
        this.pushed = pushed;
    }

    static SentJob valid(String id, JobSpec spec) {
        return new SentJob(id, Kind.VALID, "valid", spec, false);
    }

    static SentJob pushed(String id, JobSpec spec) {
        return new SentJob(id, Kind.VALID, "valid (push)", spec, true);
    }

    String id() {
        return id;
    }

    Kind kind() {
        return kind;
    }

    String label() {
        return label;
    }

    /** The spec of a valid job; null for the fuzz scenario's bad records. */
    JobSpec spec() {
        return spec;
    }

    boolean isPushed() {
        return pushed;
    }

    boolean isValid() {
        return kind == Kind.VALID;
    }

    /** Where the broker put it ({partition, offset}); more than one after a resend whose first try did land. */
    List<long[]> acked() {
        return acked;
    }

    void ackedAt(int partition, long offset) {
        acked.add(new long[] {partition, offset});
    }

    boolean wasAcked() {
        return !acked.isEmpty();
    }

    /** The broker refused the record for good (too large, say): it never was on the topic. */
    void refusedByBroker(String why) {
        this.refusedByBroker = why;
    }

    String refusedByBroker() {
        return refusedByBroker;
    }

    PushAnswer push() {
        return push;
    }

    void pushAnswered(PushAnswer answer) {
        this.push = answer;
    }

    long sentAtMillis() {
        return sentAtMillis;
    }

    void sentAt(long millis) {
        this.sentAtMillis = millis;
    }

    @Override
    public String toString() {
        return id + " (" + label + ")";
    }
}
