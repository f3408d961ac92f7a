package dev.easel.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.config.SseConfig;
import dev.easel.security.Tenant;
import dev.easel.messaging.JobEventRecords;
import dev.easel.contract.JobEvents;
import dev.easel.contract.JobEvents.JobEvent;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.ResponseHeader;

/**
 * {@code GET /v1/jobs/{id}/events}: a job's progress as server-sent events (docs/events.md, "Event
 * streams"). First the job's state from the store ({@code state}, the body of
 * {@code GET /v1/jobs/{id}}), then its live events from the events topic ({@code started},
 * {@code progress}, {@code preview} for jobs that asked, {@code completed}, {@code failed}); the
 * stream ends after a final one, at once
 * when the state already is. 404 for a job the store does not know, as the status endpoint; 429
 * past the tenant's open streams ({@code easel.sse.max-streams-per-tenant}).
 */
@Path("/v1/jobs/{id}/events")
public class JobEventsResource {

    private static final Logger LOG = Logger.getLogger(JobEventsResource.class);
    static final String STATE = "state";
    static final String CLOSED = "closed";

    private final JobLookup lookup;
    private final CurrentCaller caller;
    private final JobEventHub hub;
    private final EventFeed feed;
    private final ObjectMapper json;
    private final Duration heartbeat;

    @Inject
    JobEventsResource(JobLookup lookup, JobEventHub hub, EventFeed feed, ObjectMapper json, SseConfig config,
                      CurrentCaller caller) {
        this.caller = caller;
        this.lookup = lookup;
        this.hub = hub;
        this.feed = feed;
        this.json = json;
        this.heartbeat = config.heartbeat();
    }

    /** Runs on a worker thread (the store read blocks); the stream itself then runs on its own. */
    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Blocking
    // Proxies must pass events through as they come (nginx buffers unless told not to).
    @ResponseHeader(name = "Cache-Control", value = "no-cache")
    @ResponseHeader(name = "X-Accel-Buffering", value = "no")
    public Multi<OutboundSseEvent> events(@PathParam("id") String id, @Context Sse sse) {
        if (!feed.enabled()) {
            throw failure(Response.Status.SERVICE_UNAVAILABLE, Map.of("error", "unavailable", "id", id,
                    "reason", "job event streams are off on this server (easel.sse.enabled=false)"));
        }
        // Subscribed before the state is read: an event published meanwhile waits in the subscription.
        Tenant tenant = caller.get().tenant();
        JobEventHub.Subscription subscription;
        try {
            subscription = hub.subscribe(tenant.id(), id);
        } catch (JobEventHub.TooManyStreamsException e) {
            throw new WebApplicationException(Response.status(429).header("Retry-After", "5")
                    .entity(Map.of("error", "too_many_streams", "id", id, "reason", e.getMessage()))
                    .type(MediaType.APPLICATION_JSON).build());
        }
        // Until the stream is handed over, any way out gives the subscription (and the tenant's place) back.
        try {
            Optional<JobView> found = lookup.find(tenant, id);
            if (found.isEmpty()) {
                throw failure(Response.Status.NOT_FOUND, Map.of("error", "not_found", "id", id));
            }
            JobView state = found.get();
            OutboundSseEvent first = sse.newEventBuilder().name(STATE).data(String.class, write(state)).build();
            if (isFinal(state.status())) {
                subscription.close();
                return Multi.createFrom().item(first);
            }
            Multi<OutboundSseEvent> live = subscription.stream()
                    .select().where(new Unseen(state))
                    .map(event -> sse.newEventBuilder().name(JobEventRecords.shortType(event.type())).id(event.id())
                            .data(String.class, write(event.data())).build())
                    .onFailure(JobEventHub.StreamClosedException.class).recoverWithItem(closed -> sse.newEventBuilder()
                            .name(CLOSED).data(String.class, write(Map.of("reason", closed.getMessage()))).build());
            return withHeartbeats(Multi.createBy().concatenating().streams(Multi.createFrom().item(first), live), sse);
        } catch (IOException e) {
            subscription.close();
            LOG.warnf("job %s: storage failed: %s", id, e.getMessage());
            throw failure(Response.Status.SERVICE_UNAVAILABLE, Map.of("error", "unavailable", "id", id,
                    "reason", "storage is unavailable; try again"));
        } catch (RuntimeException e) {
            subscription.close();
            throw e;
        }
    }

    /** Comment lines while the stream is open; they end with it. */
    private Multi<OutboundSseEvent> withHeartbeats(Multi<OutboundSseEvent> events, Sse sse) {
        OutboundSseEvent end = sse.newEventBuilder().comment("end").build(); // a marker, never sent
        Multi<OutboundSseEvent> beats = Multi.createFrom().ticks().every(heartbeat).onOverflow().drop()
                .map(tick -> sse.newEventBuilder().comment("keep-alive").build());
        return Multi.createBy().merging().streams(events.onCompletion().continueWith(end), beats)
                .select().first(event -> event != end);
    }

    private static boolean isFinal(String status) {
        return JobView.COMPLETED.equals(status) || JobView.FAILED.equals(status) || JobView.CANCELLED.equals(status);
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static WebApplicationException failure(Response.Status status, Map<String, String> body) {
        return new WebApplicationException(Response.status(status).entity(body).type(MediaType.APPLICATION_JSON).build());
    }

    /**
     * Drops what the client has already been told: an event id sent before, and the {@code started}
     * of a job whose state said running when nothing has been sent since (the same start, published
     * between the subscription and the store read).
     */
    private static final class Unseen implements Predicate<JobEvent> {

        private final Set<String> sent = new HashSet<>();
        private boolean saidRunning;

        Unseen(JobView state) {
            this.saidRunning = JobView.RUNNING.equals(state.status());
        }

        @Override
        public boolean test(JobEvent event) {
            if (!sent.add(event.id())) {
                return false;
            }
            boolean repeat = saidRunning && JobEvents.STARTED.equals(event.type());
            saidRunning = false;
            return !repeat;
        }
    }
}
