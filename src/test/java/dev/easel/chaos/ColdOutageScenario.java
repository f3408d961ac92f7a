package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Scale from zero into an outage: the worker is killed, a server it needs taken away, and a new
 * worker started while the server is still away — everything it does at start-up that needs the
 * server meets a dead one. It must stay up, be ready or not as {@code readyWhileDown} says, and
 * answer every job sent before, during and after, with no {@code failed} event. Jobs (half the
 * outage scenario's) flow from the server's lead before it goes until the lead after it is back.
 * {@code coldstart}: Kafka — the jobs consumer, the cancellation and event feeds and the answers
 * producer's warm-up meet a dead broker, and the worker must not be ready until it is back
 * (readiness includes the broker). {@code coldstorage}: S3Proxy — the S3 client, the bucket of
 * {@code easel.s3.create-bucket} and the job path's warm-up meet a dead store, and the worker must
 * turn ready while it is away (readiness does not include it) and hold its jobs in their retries.
 *
 * @param firstSeed the seed of the scenario's first job spec (each scenario its own)
 */
record ColdOutageScenario(String name, StackServer server, boolean readyWhileDown, int firstSeed) implements Scenario {

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int jobs = Math.max(6, server.jobs(s) / 2);
        Duration outage = server.outage(s);
        Duration span = outage.plus(server.lead(s)).plus(server.lead(s));
        long backAt;
        Optional<Long> readyAt;
        try (Traffic traffic = new Traffic(name(), jobs, span.dividedBy(jobs),
                i -> SentJob.valid(chaos.id(name(), i), JobSpec.fast(firstSeed + i)), chaos, outcome)) {
            Thread.sleep(server.lead(s).toMillis());
            long pid = chaos.worker.pid();
            chaos.worker.kill9();
            long down = System.nanoTime();
            String how = server.takeDown(chaos);
            chaos.log("worker %d (pid %d) killed, %s %s; %d/%d jobs sent, %d answered", chaos.worker.incarnation(), pid,
                    server.label(), how, traffic.sent(), jobs, chaos.answers.answeredCount(outcome.jobs()));
            // Not Chaos.startWorker: that waits for readiness, which may need the server.
            chaos.worker.start(1);
            readyAt = readyWhileDown ? awaitReadyWithin(chaos, outage.minusNanos(System.nanoTime() - down))
                    : Optional.empty();
            chaos.log("worker %d started with %s down (pid %d, log %s)%s; %s back in %d s", chaos.worker.incarnation(),
                    server.label(), chaos.worker.pid(), chaos.worker.log().getFileName(), readyAt.map(at -> String.format(
                            Locale.ROOT, ", ready in %.1f s", (at - chaos.worker.startedAtMillis()) / 1000.0)).orElse(""),
                    server.label(), outage.toSeconds());
            Thread.sleep(Math.max(0, outage.toMillis() - (System.nanoTime() - down) / 1_000_000));
            if (!chaos.worker.alive()) {
                // A failure of the scenario, and the next scenarios still get a worker.
                outcome.error("the worker started with " + server.label() + " down exited (status "
                        + chaos.worker.exitStatus() + ") before it was back; see " + chaos.worker.log());
                server.bringBack(chaos);
                chaos.startWorker(1);
                backAt = System.currentTimeMillis();
            } else {
                server.bringBack(chaos);
                backAt = System.currentTimeMillis();
                if (readyWhileDown && readyAt.isEmpty()) {
                    outcome.error("the worker started with " + server.label() + " down was not ready before it was back;"
                            + " see " + chaos.worker.log());
                }
                if (readyAt.isEmpty()) {
                    readyAt = Optional.of(chaos.worker.awaitReady(s.readyTimeout()));
                    chaos.log("%s back; the worker started %.1f s before it was ready %.1f s after it", server.label(),
                            (backAt - chaos.worker.startedAtMillis()) / 1000.0, (readyAt.get() - backAt) / 1000.0);
                }
            }
            traffic.join(span.plusMinutes(2));
        }
        if (!chaos.sender.awaitAcked(Duration.ofMinutes(2))) {
            outcome.note(chaos.sender.pending() + " job(s) still not acknowledged by the broker 2 min after the stream ended");
        }
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        long ready = readyAt.orElse(backAt);
        outcome.figure(ready < backAt
                ? String.format(Locale.ROOT, "ready %.1f s after its start, %s down", (ready - chaos.worker.startedAtMillis())
                        / 1000.0, server.label())
                : String.format(Locale.ROOT, "ready %.1f s after %s was back", (ready - backAt) / 1000.0, server.label()));
        // Jobs may start while the server is away and wait in their retries: the first answer tells.
        Optional<Long> first = outcome.jobs().stream().flatMap(j -> chaos.answers.finals(j.id()).stream())
                .map(Answers.Event::timestamp).filter(t -> t >= backAt).min(Long::compare);
        outcome.figure(first.map(t -> String.format(Locale.ROOT, "first answer %.1f s after %s was back",
                (t - backAt) / 1000.0, server.label())).orElse("no answer after " + server.label() + " was back"));
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
