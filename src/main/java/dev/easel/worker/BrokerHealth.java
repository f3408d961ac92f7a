package dev.easel.worker;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness ({@code /q/health/ready}): DOWN while the broker does not take this worker's answers
 * (the last try at publishing one failed and none succeeded since), UP again with the first that
 * does. Jobs wait meanwhile, uncommitted; nothing needs restarting, so liveness is not affected.
 */
@Readiness
@Default // injected into Jobs as well as called as a check
@ApplicationScoped
public class BrokerHealth implements HealthCheck {

    static final String NAME = "answers";

    private record Refusal(Instant since, String error) {
    }

    private final AtomicReference<Refusal> refusal = new AtomicReference<>();

    /** A record of an answer was acknowledged. */
    void answered() {
        refusal.set(null);
    }

    /** A try at publishing an answer failed. */
    void refused(Throwable error) {
        refusal.compareAndSet(null, new Refusal(Instant.now(), String.valueOf(error)));
    }

    /** Since when answers are refused, if they are. */
    Optional<Instant> refusedSince() {
        return Optional.ofNullable(refusal.get()).map(Refusal::since);
    }

    @Override
    public HealthCheckResponse call() {
        Refusal now = refusal.get();
        if (now == null) {
            return HealthCheckResponse.named(NAME).up().withData("state", "the broker takes answers").build();
        }
        return HealthCheckResponse.named(NAME).down().withData("state", "answers refused since " + now.since())
                .withData("error", now.error()).build();
    }
}
