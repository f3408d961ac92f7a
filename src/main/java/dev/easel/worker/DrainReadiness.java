package dev.easel.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness ({@code /q/health/ready}): DOWN once shutdown has begun, so Kubernetes (and a Knative
 * activator) stop routing pushed jobs and HTTP submissions to a worker that no longer takes them,
 * while it finishes its running jobs within the grace period. Liveness stays UP meanwhile: a
 * restart would cut those jobs off.
 */
@Readiness
@ApplicationScoped
public class DrainReadiness implements HealthCheck {

    static final String NAME = "worker";

    private final WorkerLifecycle lifecycle;

    @Inject
    DrainReadiness(WorkerLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public HealthCheckResponse call() {
        boolean draining = lifecycle.isDraining();
        return HealthCheckResponse.named(NAME)
                .status(!draining)
                .withData("state", draining ? "draining" : "taking jobs")
                .build();
    }
}
