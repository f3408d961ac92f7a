package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import java.util.Optional;

/**
 * What happened to a job: the one spelling of each event kind, from which every wire form is
 * derived: the job contract's {@code webhook.events} entry ({@code completed}), the CloudEvent
 * {@code type} ({@code dev.easel.job.completed}) and the webhook body's {@code type}
 * ({@code job.completed}).
 */
public enum EventKind {
    STARTED, PROGRESS, COMPLETED, FAILED, CANCELLED,
    /**
     * A preview picture of a job that asked for them: on the events topic and the job's event
     * stream only; no webhook carries it (the schema's {@code webhook.events} does not list it).
     */
    PREVIEW;

    private static final String CE_PREFIX = "dev.easel.job.";
    private static final String WEBHOOK_PREFIX = "job.";

    /** As jobs name it in {@code webhook.events}: {@code completed}. */
    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The CloudEvents {@code type}: {@code dev.easel.job.completed}. */
    public String ceType() {
        return CE_PREFIX + wireName();
    }

    /** The webhook body's {@code type}: {@code job.completed}. */
    public String webhookType() {
        return WEBHOOK_PREFIX + wireName();
    }

    /** Whether it ends the job: nothing follows a completed, failed or cancelled event. */
    public boolean isFinal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    /** @throws IllegalArgumentException for a name that is no kind (the job schema rules this out) */
    @JsonCreator
    public static EventKind ofWireName(String name) {
        for (EventKind kind : values()) {
            if (kind.wireName().equals(name)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("not an event kind: " + name);
    }

    /** The kind of a CloudEvent type; empty for a type that is not one of Easel's job events. */
    public static Optional<EventKind> ofCeType(String type) {
        if (type == null || !type.startsWith(CE_PREFIX)) {
            return Optional.empty();
        }
        try {
            return Optional.of(ofWireName(type.substring(CE_PREFIX.length())));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
