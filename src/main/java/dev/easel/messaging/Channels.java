package dev.easel.messaging;

/**
 * Reactive Messaging channel names; application.properties binds each to a Kafka topic from
 * {@link dev.easel.config.TopicsConfig}. Tests use these constants too, so a rename cannot leave
 * them on a channel nothing uses.
 */
public final class Channels {

    /** Incoming job records (topic {@code easel.topics.jobs}); decode them with {@link JobRecords}. */
    public static final String JOBS_IN = "jobs";
    /** Outgoing jobs (the same topic as {@link #JOBS_IN}), written by {@link JobQueue} for the HTTP API. */
    public static final String JOBS_OUT = "jobs-out";
    /** Outgoing job CloudEvents (topic {@code easel.topics.events}), written by {@link EventPublisher}. */
    public static final String EVENTS_OUT = "events";
    /** Outgoing dead letters (topic {@code easel.topics.dead-letters}), written by {@link DeadLetters}. */
    public static final String DEAD_LETTERS_OUT = "dead-letters";

    private Channels() {
    }
}
