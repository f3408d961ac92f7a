package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Scale from zero into an outage: the worker is killed, the broker stopped, and a new worker started
 * while the broker is still away — everything it does at start-up that needs Kafka (the jobs
 * consumer, the cancellation and event feeds, the warm-up of the answers producer) meets a dead
 * broker. It must stay up (not ready: readiness includes the broker), become ready once the broker
 * is back, and answer every job sent before, during and after, with no {@code failed} event. Jobs
 * flow from {@code brokerLead} before the broker goes until {@code brokerLead} after it is back;
 * the broker is away for the broker scenario's outage.
 */
final class ColdStartScenario implements Scenario {

    @Override
    public String name() {
        return "coldstart";
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int jobs = Math.max(6, s.brokerJobs() / 2);
        Duration outage = s.brokerOutage();
        Duration span = outage.plus(s.brokerLead()).plus(s.brokerLead());
        long backAt;
        long readyAt;
        try (Traffic traffic = new Traffic(name(), jobs, span.dividedBy(jobs),
                i -> SentJob.valid(chaos.id(name(), i), JobSpec.fast(300 + i)), chaos, outcome)) {
            Thread.sleep(s.brokerLead().toMillis());
            long pid = chaos.worker.pid();
            chaos.worker.kill9();
            long down = System.nanoTime();
            int status = chaos.stack.stopKafka();
            chaos.log("worker %d (pid %d) killed, Kafka stopped (exit status %d); %d/%d jobs sent, %d answered",
                    chaos.worker.incarnation(), pid, status, traffic.sent(), jobs,
                    chaos.answers.answeredCount(outcome.jobs()));
            // Not Chaos.startWorker: that waits for readiness, which needs the broker.
            chaos.worker.start(1);
            chaos.log("worker %d started with Kafka down (pid %d, log %s); Kafka back in %d s", chaos.worker.incarnation(),
                    chaos.worker.pid(), chaos.worker.log().getFileName(), outage.toSeconds());
            Thread.sleep(Math.max(0, outage.toMillis() - (System.nanoTime() - down) / 1_000_000));
            if (!chaos.worker.alive()) {
                // A failure of the scenario, and the next scenarios still get a worker.
                outcome.error("the worker started with Kafka down exited (status " + chaos.worker.exitStatus()
                        + ") before Kafka was back; see " + chaos.worker.log());
                chaos.stack.restartKafka();
                chaos.startWorker(1);
                backAt = System.currentTimeMillis();
                readyAt = backAt;
            } else {
                chaos.stack.restartKafka();
                backAt = System.currentTimeMillis();
                readyAt = chaos.worker.awaitReady(s.readyTimeout());
                chaos.log("Kafka back; the worker started %.1f s before it was ready %.1f s after it",
                        (backAt - chaos.worker.startedAtMillis()) / 1000.0, (readyAt - backAt) / 1000.0);
            }
            traffic.join(span.plusMinutes(2));
        }
        if (!chaos.sender.awaitAcked(Duration.ofMinutes(2))) {
            outcome.note(chaos.sender.pending() + " job(s) still not acknowledged by the broker 2 min after the stream ended");
        }
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        outcome.figure(String.format(Locale.ROOT, "ready %.1f s after Kafka was back", Math.max(0, readyAt - backAt) / 1000.0));
        Optional<Answers.Event> first = chaos.answers.firstStartedSince(backAt);
        outcome.figure(first.map(e -> String.format(Locale.ROOT, "first job started %.1f s after Kafka was back",
                Math.max(0, e.timestamp() - backAt) / 1000.0)).orElse("no job started after Kafka was back"));
    }
}
