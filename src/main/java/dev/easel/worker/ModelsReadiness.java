package dev.easel.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness ({@code /q/health/ready}): UP once every configured model has loaded. DOWN while any
 * is still loading (jobs that arrive then wait for it), when one failed to load (the reason is in
 * the check's data; the worker still serves the others, but a rollout should stop here), and when
 * no model is configured at all. Liveness is not affected: restarting would not fix a bundle.
 */
@Readiness
@ApplicationScoped
public class ModelsReadiness implements HealthCheck {

    static final String NAME = "models";

    private final ModelRegistry models;

    @Inject
    ModelsReadiness(ModelRegistry models) {
        this.models = models;
    }

    @Override
    public HealthCheckResponse call() {
        Map<String, ModelRegistry.Status> statuses = models.statuses();
        HealthCheckResponseBuilder response = HealthCheckResponse.named(NAME);
        if (statuses.isEmpty()) {
            return response.down().withData("reason", "no models configured (easel.models.<name>.path)").build();
        }
        boolean allLoaded = true;
        for (Map.Entry<String, ModelRegistry.Status> model : statuses.entrySet()) {
            response.withData(model.getKey(), model.getValue().describe());
            allLoaded &= model.getValue().state() == ModelRegistry.Status.State.LOADED;
        }
        return response.status(allLoaded).build();
    }
}
