package dev.easel.chaos;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * One job run by two workers at once: a second worker joins the group, and each job goes to every
 * partition of the jobs topic, so both workers run it side by side — what a rebalance does when it
 * hands an uncommitted record to a new member while the first still runs it. Slow jobs (the
 * random model), so that the two runs overlap. Every delivery must be answered, and each job with
 * one answer: all its final events alike, ce_id and bytes (Tally's duplicate results), whichever
 * run stores its manifest first.
 */
final class TwinsScenario implements Scenario {

    @Override
    public String name() {
        return "twins";
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int partitions = chaos.jobPartitions();
        try (WorkerProcess twin = chaos.twinWorker()) {
            twin.start(1);
            twin.awaitReady(s.readyTimeout());
            chaos.log("twin worker up (pid %d, port %d); log %s", twin.pid(), twin.port(), twin.log());
            if (!chaos.awaitJobsShared(2, Duration.ofSeconds(60))) {
                throw new IllegalStateException("the two workers did not share the jobs topic's partitions within 60 s");
            }
            for (int i = 0; i < s.twinJobs(); i++) {
                SentJob job = outcome.add(SentJob.valid(chaos.id(name(), i), JobSpec.slow(500 + i, s.slowSize(), s.slowSteps())));
                chaos.sender.sendToEveryPartition(job, partitions);
            }
            chaos.sender.awaitAcked(Duration.ofMinutes(1));
            outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
            List<SentJob> unanswered = awaitEveryDelivery(chaos, outcome.jobs(), partitions, s.settleTimeout());
            if (!unanswered.isEmpty()) {
                // A delivery without its answer: lost, though another delivery of the job was answered.
                outcome.note(unanswered.size() + " job(s) with fewer final events than deliveries (" + partitions
                        + " each): counted lost");
                outcome.lost(unanswered);
            }
            long both = outcome.jobs().stream().filter(j -> chaos.answers.events(j.id()).stream()
                    .filter(e -> e.type().equals("started")).count() >= 2).count();
            outcome.figure(String.format(Locale.ROOT, "ran on both workers at once: %d of %d", both, outcome.jobs().size()));
            if (both == 0) {
                outcome.note("no job ran on both workers: the race this scenario is for did not happen");
            }
            int status = twin.terminate();
            chaos.log("twin worker stopped with SIGTERM (exit status %d)", status);
        }
    }

    /** Waits until each job has a final event per delivery; returns those that do not. */
    private static List<SentJob> awaitEveryDelivery(Chaos chaos, List<SentJob> jobs, int deliveries, Duration timeout)
            throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<SentJob> missing = jobs.stream().filter(j -> chaos.answers.finals(j.id()).size() < deliveries).toList();
            if (missing.isEmpty() || System.nanoTime() > until) {
                return missing;
            }
            Thread.sleep(100);
        }
    }
}
