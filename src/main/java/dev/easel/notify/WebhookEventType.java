package dev.easel.notify;

/** The events a job's webhook receives, with the {@code type} string sent in the body. */
public enum WebhookEventType {
    JOB_STARTED("job.started"),
    JOB_PROGRESS("job.progress"),
    JOB_COMPLETED("job.completed"),
    JOB_FAILED("job.failed");

    private final String wireName;

    WebhookEventType(String wireName) {
        this.wireName = wireName;
    }

    /** The {@code type} field of the body, for example {@code job.completed}. */
    public String wireName() {
        return wireName;
    }
}
