package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Jobs flowing while a server the worker needs goes away for a while and comes back: the worker
 * must ride it out by itself (it is not restarted) and answer every job, with no {@code failed}
 * event, since the outage is shorter than its retry budget (10 minutes). The stream runs from the
 * server's lead before the outage until the lead after it. {@code broker}: Kafka stopped for 60 s
 * (quick: 20 s); {@code storage}: S3Proxy killed for 30 s (quick: 15 s).
 */
record OutageScenario(String name, StackServer server) implements Scenario {

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int jobs = server.jobs(s);
        Duration span = server.outage(s).plus(server.lead(s)).plus(server.lead(s));
        Duration gap = span.dividedBy(jobs);
        long workerPid = chaos.worker.pid();
        int incarnation = chaos.worker.incarnation();
        long backAt;
        try (Traffic traffic = new Traffic(name(), jobs, gap, i -> SentJob.valid(chaos.id(name(), i),
                i % 5 == 2 ? JobSpec.slow(200 + i, s.slowSize(), s.slowSteps()) : JobSpec.fast(200 + i)), chaos, outcome)) {
            Thread.sleep(server.lead(s).toMillis());
            long down = System.nanoTime();
            String how = server.takeDown(chaos);
            chaos.log("%s %s (%d/%d jobs sent, %d answered); back in %d s", server.label(), how, traffic.sent(), jobs,
                    chaos.answers.answeredCount(outcome.jobs()), server.outage(s).toSeconds());
            Thread.sleep(Math.max(0, server.outage(s).toMillis() - (System.nanoTime() - down) / 1_000_000));
            long restart = System.nanoTime();
            server.bringBack(chaos);
            backAt = System.currentTimeMillis();
            chaos.log("%s back after %.1f s down (restart took %.1f s); %d/%d jobs sent, %d answered", server.label(),
                    Chaos.seconds(System.nanoTime() - down), Chaos.seconds(System.nanoTime() - restart), traffic.sent(), jobs,
                    chaos.answers.answeredCount(outcome.jobs()));
            traffic.join(span.plusMinutes(2));
        }
        if (!chaos.sender.awaitAcked(Duration.ofMinutes(2))) {
            outcome.note(chaos.sender.pending() + " job(s) still not acknowledged by the broker 2 min after the stream ended");
        }
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        Optional<Answers.Event> resumed = chaos.answers.firstStartedSince(backAt);
        resumed.ifPresent(e -> outcome.figure(String.format(Locale.ROOT, "first job started %.1f s after %s was back",
                Math.max(0, e.timestamp() - backAt) / 1000.0, server.label())));
        if (resumed.isEmpty()) {
            outcome.figure("no job started after " + server.label() + " was back");
        }
        if (chaos.worker.incarnation() == incarnation && chaos.worker.pid() == workerPid) {
            outcome.figure("worker not restarted");
        } else {
            outcome.figure("worker RESTARTED during the scenario");
        }
        outcome.figure(String.format(Locale.ROOT, "outage %d s", server.outage(s).toSeconds()));
    }
}
