package dev.easel.chaos;

import java.time.Duration;

/**
 * Scale from zero into a broker outage: a new worker started while Kafka is stopped — its jobs
 * consumer, cancellation and event feeds and the warm-up of the answers producer all meet a dead
 * broker. It must stay up, not ready (readiness includes the broker), and turn ready by itself once
 * the broker is back. The broker is away for the broker scenario's outage.
 */
final class ColdStartScenario extends ColdOutageScenario {

    @Override
    public String name() {
        return "coldstart";
    }

    @Override
    String server() {
        return "Kafka";
    }

    @Override
    int jobs(Settings settings) {
        return settings.brokerJobs() / 2;
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
    int firstSeed() {
        return 300;
    }

    @Override
    String takeDown(Chaos chaos) {
        return "stopped (exit status " + chaos.stack.stopKafka() + ")";
    }

    @Override
    void bringBack(Chaos chaos) {
        chaos.stack.restartKafka();
    }

    @Override
    boolean readyWhileDown() {
        return false;
    }
}
