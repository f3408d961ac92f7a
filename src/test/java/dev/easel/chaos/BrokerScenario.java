package dev.easel.chaos;

import java.time.Duration;

/** The broker stopped the orderly way for 60 s (quick: 20 s) and started again on the same port and data. */
final class BrokerScenario extends OutageScenario {

    @Override
    public String name() {
        return "broker";
    }

    @Override
    String server() {
        return "Kafka";
    }

    @Override
    int jobs(Settings settings) {
        return settings.brokerJobs();
    }

    @Override
    Duration outage(Settings settings) {
        return settings.brokerOutage();
    }

    @Override
    Duration lead(Settings settings) {
        return settings.brokerLead();
    }

    @Override
    String takeDown(Chaos chaos) {
        long t = System.nanoTime();
        int status = chaos.stack.stopKafka();
        return String.format(java.util.Locale.ROOT, "stopped (exit status %d, %.1f s)", status, Chaos.seconds(System.nanoTime() - t));
    }

    @Override
    void bringBack(Chaos chaos) {
        chaos.stack.restartKafka();
    }
}
