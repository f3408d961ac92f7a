package dev.easel.chaos;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * A server of the local stack that a scenario takes away and brings back on the same port and
 * data, with the scale of its outage from {@link Settings}: Kafka stopped the orderly way or
 * killed with SIGKILL (a crash: its logs are recovered at the next start), S3Proxy killed with
 * SIGKILL.
 */
enum StackServer {
    KAFKA("Kafka", Scale.BROKER, StackServer::stopKafka, chaos -> chaos.stack.restartKafka()),
    KAFKA_KILLED("Kafka", Scale.BROKER, chaos -> {
        chaos.stack.killKafka();
        return "killed with SIGKILL";
    }, chaos -> chaos.stack.restartKafka()),
    S3PROXY("S3Proxy", Scale.STORAGE, chaos -> {
        chaos.stack.killS3Proxy();
        return "killed with SIGKILL";
    }, chaos -> chaos.stack.restartS3Proxy());

    /** How big an outage of the server is: jobs sent, its length, and how long jobs flow before and after it. */
    private record Scale(ToIntFunction<Settings> jobs, Function<Settings, Duration> outage,
                         Function<Settings, Duration> lead) {
        static final Scale BROKER = new Scale(Settings::brokerJobs, Settings::brokerOutage, Settings::brokerLead);
        static final Scale STORAGE = new Scale(Settings::storageJobs, Settings::storageOutage, Settings::storageLead);
    }

    private final String label;
    private final Scale scale;
    private final Function<Chaos, String> takeDown;
    private final Consumer<Chaos> bringBack;

    StackServer(String label, Scale scale, Function<Chaos, String> takeDown, Consumer<Chaos> bringBack) {
        this.label = label;
        this.scale = scale;
        this.takeDown = takeDown;
        this.bringBack = bringBack;
    }

    private static String stopKafka(Chaos chaos) {
        long t = System.nanoTime();
        int status = chaos.stack.stopKafka();
        return String.format(Locale.ROOT, "stopped (exit status %d, %.1f s)", status, Chaos.seconds(System.nanoTime() - t));
    }

    /** Its name in the log and the figures. */
    String label() {
        return label;
    }

    /** Jobs the outage scenario sends. */
    int jobs(Settings s) {
        return scale.jobs().applyAsInt(s);
    }

    Duration outage(Settings s) {
        return scale.outage().apply(s);
    }

    /** How long jobs flow before the outage and after it. */
    Duration lead(Settings s) {
        return scale.lead().apply(s);
    }

    /** Takes the server away; returns a line for the log. */
    String takeDown(Chaos chaos) {
        return takeDown.apply(chaos);
    }

    /** Brings it back (once it answers). */
    void bringBack(Chaos chaos) {
        bringBack.accept(chaos);
    }
}
