package dev.easel.contract;

import java.net.URI;
import java.util.List;

/**
 * Where job events are POSTed.
 *
 * @param url    absolute http(s) URL
 * @param events which events to send (by default the final ones: {@code completed}, {@code failed},
 *               {@code cancelled})
 */
public record JobWebhook(URI url, List<EventKind> events) {

    public JobWebhook {
        events = List.copyOf(events);
    }
}
