package dev.easel.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The scale of a chaos run. {@link #full} is the (200 jobs through 10 kills, a 60 s broker
 * outage, a 30 s storage outage); {@link #quick} runs one of each, smaller, in a few minutes.
 *
 * @param workerConfig  worker system properties added to (or, with an empty value, removed from) the run's own
 * @param slowSize      width and height of the random model's jobs (those a kill should catch mid-way)
 * @param slowSteps     their steps
 * @param settleTimeout how long a scenario waits for its answers once its faults are over: a job
 *                      without its answer then is lost
 * @param stallTimeout  ... or until nothing at all has come on the events and dead-letter topics for this
 *                      long: a stuck worker
 */
record Settings(boolean quick, Path jar, Path workDir, List<String> scenarios, long seed, Map<String, String> workerConfig,
                int killJobs, int kills, Duration killGap,
                int brokerJobs, Duration brokerOutage, Duration brokerLead,
                int storageJobs, Duration storageOutage, Duration storageLead,
                int fuzzValid, int fuzzRounds,
                int concurrencyKafka, int concurrencyPush, int concurrencySpecs, int concurrency,
                int slowSize, int slowSteps, Duration settleTimeout, Duration stallTimeout, Duration readyTimeout) {

    static final List<String> ALL = List.of("kill", "broker", "brokerkill", "coldstart", "storage", "coldstorage",
            "fuzz", "concurrency", "twins");

    static Settings full(Path jar, Path workDir, List<String> scenarios, long seed, Map<String, String> workerConfig) {
        return new Settings(false, jar, workDir, scenarios, seed, Map.copyOf(workerConfig),
                200, 10, Duration.ofMillis(400),
                100, Duration.ofSeconds(60), Duration.ofSeconds(20),
                80, Duration.ofSeconds(30), Duration.ofSeconds(15),
                60, 3,
                60, 60, 8, 4,
                256, 16, Duration.ofMinutes(5), Duration.ofMinutes(3), Duration.ofMinutes(3));
    }

    static Settings quick(Path jar, Path workDir, List<String> scenarios, long seed, Map<String, String> workerConfig) {
        return new Settings(true, jar, workDir, scenarios, seed, Map.copyOf(workerConfig),
                40, 2, Duration.ofMillis(400),
                30, Duration.ofSeconds(20), Duration.ofSeconds(5),
                24, Duration.ofSeconds(15), Duration.ofSeconds(4),
                12, 1,
                16, 16, 4, 4,
                256, 16, Duration.ofSeconds(150), Duration.ofSeconds(90), Duration.ofMinutes(3));
    }

    /** Jobs of the twins scenario, each run by two workers at once. */
    int twinJobs() {
        return quick ? 6 : 24;
    }

    String mode() {
        return quick ? "quick" : "full";
    }
}
