package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;

/**
 * A server of the local stack that a scenario takes away and brings back on the same port and
 * data, with the scale of its outage from {@link Settings}: Kafka stopped the orderly way, S3Proxy
 * killed with SIGKILL.
 */
enum StackServer {
    KAFKA("Kafka") {
        @Override
        int jobs(Settings s) {
            return s.brokerJobs();
        }

        @Override
        Duration outage(Settings s) {
            return s.brokerOutage();
        }

        @Override
        Duration lead(Settings s) {
            return s.brokerLead();
        }

        @Override
        String takeDown(Chaos chaos) {
            long t = System.nanoTime();
            int status = chaos.stack.stopKafka();
            return String.format(Locale.ROOT, "stopped (exit status %d, %.1f s)", status, Chaos.seconds(System.nanoTime() - t));
        }

        @Override
        void bringBack(Chaos chaos) {
            chaos.stack.restartKafka();
        }
    },
    S3PROXY("S3Proxy") {
        @Override
        int jobs(Settings s) {
            return s.storageJobs();
        }

        @Override
        Duration outage(Settings s) {
            return s.storageOutage();
        }

        @Override
        Duration lead(Settings s) {
            return s.storageLead();
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
    };

    private final String label;

    StackServer(String label) {
        this.label = label;
    }

    /** Its name in the log and the figures. */
    String label() {
        return label;
    }

    /** Jobs the outage scenario sends. */
    abstract int jobs(Settings s);

    abstract Duration outage(Settings s);

    /** How long jobs flow before the outage and after it. */
    abstract Duration lead(Settings s);

    /** Takes the server away; returns a line for the log. */
    abstract String takeDown(Chaos chaos);

    /** Brings it back (once it answers). */
    abstract void bringBack(Chaos chaos);
}
