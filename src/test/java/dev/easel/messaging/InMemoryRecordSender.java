package dev.easel.messaging;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A {@link RecordSender} that keeps what it is sent: the "broker" takes each record at once, or
 * refuses it (the future fails) while {@link #refuse(int)} says so.
 */
public final class InMemoryRecordSender implements RecordSender {

    public final List<ProducerRecord<byte[], byte[]>> sent = new CopyOnWriteArrayList<>();
    private final AtomicInteger refusals = new AtomicInteger();
    private volatile String broken;

    /** Refuses the next {@code times} sends ({@link Integer#MAX_VALUE}: until {@link #take()}). */
    public void refuse(int times) {
        refusals.set(times);
    }

    /** Sends to this topic throw at once from now on, as a bug in the sending code would (null: none do). */
    public void breakOn(String topic) {
        broken = topic;
    }

    /** Takes every send from now on. */
    public void take() {
        refusals.set(0);
    }

    @Override
    public CompletableFuture<Void> send(ProducerRecord<byte[], byte[]> record) {
        if (record.topic().equals(broken)) {
            throw new IllegalStateException("sending to " + broken + " is broken");
        }
        if (refusals.getAndUpdate(n -> n == Integer.MAX_VALUE ? n : Math.max(0, n - 1)) > 0) {
            return CompletableFuture.failedFuture(new IllegalStateException("broker refuses"));
        }
        sent.add(record);
        return CompletableFuture.completedFuture(null);
    }

    /** The records sent to one topic, in order. */
    public List<ProducerRecord<byte[], byte[]>> on(String topic) {
        return sent.stream().filter(r -> r.topic().equals(topic)).toList();
    }
}
