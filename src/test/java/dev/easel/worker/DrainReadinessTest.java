package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/** Readiness goes DOWN as soon as the worker drains. */
class DrainReadinessTest {

    @Test
    void upWhileTakingJobsDownOnceDraining() {
        WorkerLifecycle lifecycle = new WorkerLifecycle(Duration.ofSeconds(30));
        DrainReadiness readiness = new DrainReadiness(lifecycle);
        assertThat(readiness.call().getStatus()).isEqualTo(HealthCheckResponse.Status.UP);

        lifecycle.drain();

        HealthCheckResponse response = readiness.call();
        assertThat(response.getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
        assertThat(response.getData()).hasValueSatisfying(data -> assertThat(data).containsEntry("state", "draining"));
    }
}
