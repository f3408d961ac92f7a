package dev.easel.chaos;

import java.time.Duration;

/**
 * Scale from zero into a storage outage: a new worker started while S3Proxy is killed — the S3
 * client, the bucket of {@code easel.s3.create-bucket} and the job path's warm-up all meet a dead
 * store. It must turn ready while the store is away (readiness does not include it), hold the jobs
 * that arrive in their retries until it is back, and answer every one. The store is away for the
 * storage scenario's outage.
 */
final class ColdStorageScenario extends ColdOutageScenario {

    @Override
    public String name() {
        return "coldstorage";
    }

    @Override
    String server() {
        return "S3Proxy";
    }

    @Override
    int jobs(Settings settings) {
        return settings.storageJobs() / 2;
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
    int firstSeed() {
        return 400;
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

    @Override
    boolean readyWhileDown() {
        return true;
    }
}
