package dev.easel.contract;

import com.fasterxml.jackson.annotation.JsonValue;
import java.net.URI;
import java.util.List;

/**
 * Where job events are POSTed.
 *
 * @param url    absolute http(s) URL
 * @param events which events to send (by default {@code completed} and {@code failed})
 */
public record JobWebhook(URI url, List<Event> events) {

    public JobWebhook {
        events = List.copyOf(events);
    }

    /** A job's lifecycle events, spelled as in the contract. */
    public enum Event {
        STARTED, PROGRESS, COMPLETED, FAILED;

        @JsonValue
        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
