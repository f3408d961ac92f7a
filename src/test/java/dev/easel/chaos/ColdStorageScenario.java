package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Scale from zero into a storage outage: the worker is killed, S3Proxy killed, and a new worker
 * started while the store is still away — its start-up work that needs the store (the S3 client,
 * the bucket check of {@code easel.s3.create-bucket}, the job path's warm-up) meets a dead store.
 * It must start and turn ready (readiness does not include the store: jobs wait for it, below),
 * hold the jobs that arrive until the store is back (retries within the retry budget) and answer
 * every one, with no {@code failed} event. Jobs flow from the storage scenario's lead before the
 * store goes until the lead after it is back; the store is away for the storage scenario's outage.
 */
final class ColdStorageScenario implements Scenario {

    @Override
    public String name() {
        return "coldstorage";
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int jobs = Math.max(6, s.storageJobs() / 2);
        Duration outage = s.storageOutage();
        Duration span = outage.plus(s.storageLead()).plus(s.storageLead());
        long backAt;
        Optional<Long> readyAt;
        try (Traffic traffic = new Traffic(name(), jobs, span.dividedBy(jobs),
                i -> SentJob.valid(chaos.id(name(), i), JobSpec.fast(400 + i)), chaos, outcome)) {
            Thread.sleep(s.storageLead().toMillis());
            long pid = chaos.worker.pid();
            chaos.worker.kill9();
            long down = System.nanoTime();
            chaos.stack.killS3Proxy();
            chaos.log("worker %d (pid %d) killed, S3Proxy killed; %d/%d jobs sent, %d answered",
                    chaos.worker.incarnation(), pid, traffic.sent(), jobs, chaos.answers.answeredCount(outcome.jobs()));
            chaos.worker.start(1);
            Duration left = outage.minusNanos(System.nanoTime() - down);
            readyAt = awaitReadyWithin(chaos, left);
            chaos.log("worker %d started with S3Proxy down (pid %d, log %s): %s", chaos.worker.incarnation(),
                    chaos.worker.pid(), chaos.worker.log().getFileName(), readyAt.map(at -> String.format(Locale.ROOT,
                            "ready in %.1f s", (at - chaos.worker.startedAtMillis()) / 1000.0))
                            .orElse("not ready while the store was away"));
            Thread.sleep(Math.max(0, outage.toMillis() - (System.nanoTime() - down) / 1_000_000));
            if (!chaos.worker.alive()) {
                outcome.error("the worker started with S3Proxy down exited (status " + chaos.worker.exitStatus()
                        + ") before the store was back; see " + chaos.worker.log());
                chaos.stack.restartS3Proxy();
                chaos.startWorker(1);
                backAt = System.currentTimeMillis();
            } else {
                chaos.stack.restartS3Proxy();
                backAt = System.currentTimeMillis();
                if (readyAt.isEmpty()) {
                    outcome.error("the worker started with S3Proxy down was not ready before the store was back"
                            + " (readiness must not wait for the store); see " + chaos.worker.log());
                    chaos.worker.awaitReady(s.readyTimeout());
                }
            }
            traffic.join(span.plusMinutes(2));
        }
        if (!chaos.sender.awaitAcked(Duration.ofMinutes(2))) {
            outcome.note(chaos.sender.pending() + " job(s) still not acknowledged by the broker 2 min after the stream ended");
        }
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        outcome.figure(readyAt.map(at -> String.format(Locale.ROOT, "ready %.1f s after its start, store down",
                (at - chaos.worker.startedAtMillis()) / 1000.0)).orElse("not ready while the store was down"));
        // Jobs start while the store is away and wait in their upload's retries: the first answer tells.
        Optional<Long> first = outcome.jobs().stream().flatMap(j -> chaos.answers.finals(j.id()).stream())
                .map(Answers.Event::timestamp).filter(t -> t >= backAt).min(Long::compare);
        outcome.figure(first.map(t -> String.format(Locale.ROOT, "first answer %.1f s after S3Proxy was back",
                (t - backAt) / 1000.0)).orElse("no answer after S3Proxy was back"));
    }

    /** When the worker turned ready, if it did within {@code within}; empty if not (or it exited). */
    private static Optional<Long> awaitReadyWithin(Chaos chaos, Duration within) throws InterruptedException {
        try {
            return Optional.of(chaos.worker.awaitReady(within.isNegative() ? Duration.ZERO : within));
        } catch (IllegalStateException notReady) {
            return Optional.empty();
        }
    }
}
