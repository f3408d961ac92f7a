package dev.easel.chaos;

import java.time.Duration;

/** S3Proxy killed with SIGKILL and started again after 30 s (quick: 15 s) on the same port and data. */
final class StorageScenario extends OutageScenario {

    @Override
    public String name() {
        return "storage";
    }

    @Override
    String server() {
        return "S3Proxy";
    }

    @Override
    int jobs(Settings settings) {
        return settings.storageJobs();
    }

    @Override
    Duration outage(Settings settings) {
        return settings.storageOutage();
    }

    @Override
    Duration lead(Settings settings) {
        return settings.storageLead();
    }

    @Override
    String takeDown(Chaos chaos) {
        chaos.stack.killS3Proxy();
        return "killed with SIGKILL";
    }

    @Override
    void bringBack(Chaos chaos) {
        chaos.stack.restartS3Proxy();
    }
}
