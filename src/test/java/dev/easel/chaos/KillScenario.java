package dev.easel.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * kill -9: a stream of valid jobs, a third of them slow (the random model), with the worker killed
 * with SIGKILL while it runs one — {@code kills} times, spread over the stream — and started again
 * at once. Every job must be answered once (a job cut off is delivered again and run again; one
 * answered but not committed is delivered again and answered from its manifest, byte for byte).
 * Between two kills the worker answers a few jobs, so that the stream makes progress.
 * After each restart: the time from ready ({@code /q/health/ready} 200) to the first {@code started}
 * event of the new worker (static group membership: it gets its partitions back without waiting
 * out the dead member's session); the issue wants at most 10 s.
 */
final class KillScenario implements Scenario {

    static final Duration ISSUE_READY_TO_STARTED = Duration.ofSeconds(10);
    private static final int PROGRESS_BETWEEN_KILLS = 3;

    @Override
    public String name() {
        return "kill";
    }

    @Override
    public void run(Chaos chaos, Outcome outcome) throws Exception {
        Settings s = chaos.settings;
        int jobs = s.killJobs();
        List<Double> readyToStarted = new ArrayList<>();
        int kills = 0;
        int midJob = 0;
        try (Traffic traffic = new Traffic(name(), jobs, s.killGap(), i -> SentJob.valid(chaos.id(name(), i),
                i % 3 == 1 ? JobSpec.slow(100 + i, s.slowSize(), s.slowSteps()) : JobSpec.fast(100 + i)), chaos, outcome)) {
            List<String> victims = List.of();
            for (int k = 1; k <= s.kills(); k++) {
                traffic.awaitSent(k * jobs / (s.kills() + 1), Duration.ofMinutes(5));
                // Progress between kills: the restarted worker answers PROGRESS_BETWEEN_KILLS jobs first.
                // Otherwise the job it starts with (cold, so slow) would be the victim every time.
                awaitAnswered(chaos, outcome, PROGRESS_BETWEEN_KILLS, Duration.ofSeconds(60));
                Thread.sleep(chaos.random.nextInt(1000));
                // Kill while a job runs, a slow one if one comes within 20 s, not the last kill's victim.
                List<String> running = awaitRunning(chaos, outcome, true, victims, Duration.ofSeconds(20));
                if (running.isEmpty()) {
                    running = awaitRunning(chaos, outcome, false, victims, Duration.ofSeconds(10));
                }
                Thread.sleep(chaos.random.nextInt(150));
                running = chaos.answers.runningSince(outcome.jobs(), chaos.worker.startedAtMillis());
                victims = running;
                long pid = chaos.worker.pid();
                chaos.worker.kill9();
                kills++;
                if (!running.isEmpty()) {
                    midJob++;
                }
                chaos.log("kill -9 #%d of worker %d (pid %d), %s; %d/%d jobs sent, %d answered", k, chaos.worker.incarnation(),
                        pid, running.isEmpty() ? "no job running" : "running " + running, traffic.sent(), jobs,
                        chaos.answers.answeredCount(outcome.jobs()));
                long readyAt = chaos.startWorker(1);
                Optional<Answers.Event> first = chaos.answers.awaitStartedSince(chaos.worker.startedAtMillis(),
                        Duration.ofSeconds(60));
                if (first.isPresent()) {
                    double latency = Math.max(0, first.get().timestamp() - readyAt) / 1000.0;
                    readyToStarted.add(latency);
                    chaos.log("first job started %.2f s after ready", latency);
                } else {
                    outcome.note("kill #" + k + ": no job started within 60 s of the restarted worker being ready");
                    chaos.log("no job started within 60 s of ready");
                }
            }
            traffic.join(Duration.ofMinutes(5));
        }
        chaos.sender.awaitAcked(Duration.ofMinutes(2));
        outcome.lost(chaos.awaitSettled(outcome, outcome.jobs(), s.settleTimeout()));
        outcome.figure(String.format(Locale.ROOT, "kills %d (%d mid-job)", kills, midJob));
        if (!readyToStarted.isEmpty()) {
            double max = readyToStarted.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            outcome.figure(String.format(Locale.ROOT, "ready→first started max %.1f s (issue: ≤ %d s)%s", max,
                    ISSUE_READY_TO_STARTED.toSeconds(), max > ISSUE_READY_TO_STARTED.toSeconds() ? " EXCEEDED" : ""));
        }
    }

    private static List<String> awaitRunning(Chaos chaos, Outcome outcome, boolean slowOnly, List<String> notThese,
                                             Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until) {
            List<String> running = chaos.answers.runningSince(outcome.jobs().stream()
                    .filter(j -> !slowOnly || j.spec().model().equals(JobSpec.RANDOM))
                    .filter(j -> !notThese.contains(j.id())).toList(), chaos.worker.startedAtMillis());
            if (!running.isEmpty()) {
                return running;
            }
            Thread.sleep(20);
        }
        return List.of();
    }

    /** Waits until the current worker has answered {@code count} jobs (or none is left, or the time is up). */
    private static void awaitAnswered(Chaos chaos, Outcome outcome, int count, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < until
                && chaos.answers.answeredSince(outcome.jobs(), chaos.worker.startedAtMillis()) < count
                && !chaos.answers.unsettled(outcome.jobs()).isEmpty()) {
            Thread.sleep(50);
        }
    }
}
