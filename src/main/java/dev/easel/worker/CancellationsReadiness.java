package dev.easel.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness ({@code /q/health/ready}): DOWN until the {@link CancellationFeed} has read the control
 * topic up to where it ended at startup, so no job is routed to a worker that does not yet know
 * the cancellations made before it started; UP from then on (a broker outage later is the Kafka
 * channels' to report), and at once where cancellations are off.
 */
@Readiness
@ApplicationScoped
public class CancellationsReadiness implements HealthCheck {

    static final String NAME = "cancellations";

    private final CancellationFeed feed;

    @Inject
    CancellationsReadiness(CancellationFeed feed) {
        this.feed = feed;
    }

    @Override
    public HealthCheckResponse call() {
        if (!feed.enabled()) {
            return HealthCheckResponse.named(NAME).up().withData("state", "off").build();
        }
        boolean caughtUp = feed.caughtUp();
        return HealthCheckResponse.named(NAME)
                .status(caughtUp)
                .withData("topic", feed.topic())
                .withData("state", caughtUp ? "caught up" : "reading the cancellations made before this worker started")
                .build();
    }
}
