package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * A server of the local stack that a scenario takes away and brings back on the same port and
 * data, with the scale of its outage from {@link Settings}: Kafka stopped the orderly way or
 * killed with SIGKILL (a crash: its logs are recovered at the next start), S3Proxy killed with
 * SIGKILL.
 */
enum StackServer {
    KAFKA("Kafka", Settings::brokerJobs, Settings::brokerOutage, Settings::brokerLead) {
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
    KAFKA_KILLED("Kafka", Settings::brokerJobs, Settings::brokerOutage, Settings::brokerLead) {
        @Override
        String takeDown(Chaos chaos) {
            chaos.stack.killKafka();
            return "killed with SIGKILL";
        }

        @Override
        void bringBack(Chaos chaos) {
            chaos.stack.restartKafka();
        }
    },
    S3PROXY("S3Proxy", Settings::storageJobs, Settings::storageOutage, Settings::storageLead) {
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
    private final ToIntFunction<Settings> jobs;
    private final Function<Settings, Duration> outage;
    private final Function<Settings, Duration> lead;

    StackServer(String label, ToIntFunction<Settings> jobs, Function<Settings, Duration> outage,
                Function<Settings, Duration> lead) {
        this.label = label;
        this.jobs = jobs;
        this.outage = outage;
        this.lead = lead;
    }

    /** Its name in the log and the figures. */
    String label() {
        return label;
    }

    /** Jobs the outage scenario sends. */
    int jobs(Settings s) {
        return jobs.applyAsInt(s);
    }

    Duration outage(Settings s) {
        return outage.apply(s);
    }

    /** How long jobs flow before the outage and after it. */
    Duration lead(Settings s) {
        return lead.apply(s);
    }

    /** Takes the server away; returns a line for the log. */
    abstract String takeDown(Chaos chaos);

    /** Brings it back (once it answers). */
    abstract void bringBack(Chaos chaos);
}
