package dev.easel.observe;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

/**
 * {@code GET /q/metrics}: every meter in the Prometheus text format (0.0.4), or in OpenMetrics 1.0
 * when the scraper asks for it in {@code Accept} (Prometheus does). Beside Quarkus's own
 * {@code /q/health}, where quarkus-micrometer would have put it.
 */
@Path("/q/metrics")
public class MetricsResource {

    static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPEN_METRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;

    @Inject
    MetricsResource(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    @GET
    public Response scrape(@HeaderParam(HttpHeaders.ACCEPT) String accept) {
        String type = contentType(accept);
        // The registry picks its writer from the same string: the two cannot disagree.
        return Response.ok(registry.scrape(type)).type(type).build();
    }

    /** OpenMetrics when {@code accept} names it at all (scrapers list it first when they want it), else text. */
    static String contentType(String accept) {
        return accept != null && accept.contains("application/openmetrics-text") ? OPEN_METRICS : TEXT;
    }
}
