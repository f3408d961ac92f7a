package dev.easel.api;

import dev.easel.config.SecurityConfig;
import dev.easel.security.Tenants;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Every endpoint that takes or returns a job needs a credential (docs/security.md): {@code /v1/…},
 * push mode's {@code POST /} (unless {@code easel.security.push-needs-credential=false}) and, when
 * configured, {@code /q/metrics}. 401 without one (or with one that proves nothing), 403 for a
 * valid credential that grants nothing here; the caller's tenant is then {@link CurrentCaller}'s.
 * Health stays open. The answer never echoes the credential. The job console's files
 * ({@code GET /}, {@code /console.js}, META-INF/resources) are open too: Quarkus serves static
 * files before any resource is matched, so this filter never sees them (ConsoleIT checks both).
 */
public class Authentication {

    private static final Logger LOG = Logger.getLogger(Authentication.class);

    private final Tenants tenants;
    private final CurrentCaller current;
    private final boolean pushNeedsCredential;
    private final boolean metricsNeedCredential;

    @Inject
    Authentication(Tenants tenants, CurrentCaller current, SecurityConfig config) {
        this.tenants = tenants;
        this.current = current;
        this.pushNeedsCredential = config.pushNeedsCredential();
        this.metricsNeedCredential = config.metricsNeedCredential();
    }

    @ServerRequestFilter
    Optional<Response> authenticate(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        boolean jobs = path.startsWith("/v1/");
        boolean push = path.equals("/") || path.isEmpty();
        boolean metrics = path.startsWith("/q/metrics");
        if (!jobs && !push && !metrics) {
            return Optional.empty();
        }
        Tenants.Authentication result = tenants.authenticate(
                Optional.ofNullable(request.getHeaderString("Authorization")),
                Optional.ofNullable(request.getHeaderString("X-API-Key")));
        if (result instanceof Tenants.Authentication.Known known) {
            current.set(known.caller());
            return Optional.empty();
        }
        if ((push && !pushNeedsCredential) || (metrics && !metricsNeedCredential)) {
            return Optional.empty();
        }
        if (result instanceof Tenants.Authentication.Forbidden forbidden) {
            LOG.infof("403 %s %s: %s", request.getMethod(), path, forbidden.reason());
            return Optional.of(Response.status(Response.Status.FORBIDDEN).type(MediaType.APPLICATION_JSON_TYPE)
                    .entity(Map.of("error", "forbidden", "reason", forbidden.reason())).build());
        }
        String reason = ((Tenants.Authentication.Unauthenticated) result).reason();
        LOG.debugf("401 %s %s: %s", request.getMethod(), path, reason);
        return Optional.of(Response.status(Response.Status.UNAUTHORIZED).type(MediaType.APPLICATION_JSON_TYPE)
                .header("WWW-Authenticate", "Bearer realm=\"easel\"")
                .entity(Map.of("error", "unauthorized", "reason", reason)).build());
    }
}
