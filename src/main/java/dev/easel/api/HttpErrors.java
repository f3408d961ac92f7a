package dev.easel.api;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The HTTP errors that happen before a resource method runs, answered as JSON naming the limit
 * like every other error of the API: a body over {@code quarkus.http.limits.max-body-size} (413)
 * and a content type the endpoint does not read (415). Without this, both come back with an empty
 * body.
 */
@ApplicationScoped
public class HttpErrors {

    /**
     * Retry-After of a 503 for a fault around the worker (the broker or the store away, a worker
     * shutting down): a few seconds, so clients neither hammer nor wait longer than an outage lasts.
     */
    static final String RETRY_AFTER_SECONDS = "5";

    private final long maxBodyBytes;

    HttpErrors(@ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K") MemorySize maxBody) {
        this.maxBodyBytes = maxBody.asLongValue();
    }

    /** Ahead of the body handler: a declared length over the limit is refused before a byte is read. */
    void onRouter(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).handler(context -> {
            String length = context.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            long bytes = -1;
            try {
                bytes = length == null ? -1 : Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                // Vert.x refuses a malformed length itself.
            }
            if (bytes > maxBodyBytes) {
                context.response().setStatusCode(413).putHeader(HttpHeaders.CONTENT_TYPE, MediaType.APPLICATION_JSON)
                        .putHeader(HttpHeaders.CONNECTION, "close")
                        .end("{\"error\":\"payload_too_large\",\"reason\":\"the body is " + bytes
                                + " bytes\",\"limit\":\"≤ " + maxBodyBytes + " bytes (quarkus.http.limits.max-body-size)\"}")
                        // The body is not wanted: close rather than read megabytes to keep the connection.
                        .onComplete(done -> context.request().connection().close());
                return;
            }
            // A chunked body has no declared length; Vert.x ends it at the limit, and the failure
            // handler below answers.
            context.next();
        });
        router.route().order(Integer.MIN_VALUE).failureHandler(context -> {
            if (context.statusCode() == 413 && !context.response().ended()) {
                context.response().setStatusCode(413).putHeader(HttpHeaders.CONTENT_TYPE, MediaType.APPLICATION_JSON)
                        .end("{\"error\":\"payload_too_large\",\"limit\":\"≤ " + maxBodyBytes
                                + " bytes (quarkus.http.limits.max-body-size)\"}");
            } else {
                context.next();
            }
        });
    }

    @ServerExceptionMapper
    Response unsupported(NotSupportedException e) {
        return Response.status(415).type(MediaType.APPLICATION_JSON_TYPE).entity(Map.of("error", "unsupported_media_type",
                "reason", "the body must be JSON", "limit", "Content-Type: application/json")).build();
    }
}
