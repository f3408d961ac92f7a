package dev.easel.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code easel.worker.*} read by SmallRye Config directly: batching, and the concurrency that feeds it. */
class WorkerConfigTest {

    static WorkerConfig read(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors() // expressions, as Quarkus expands them
                .withMapping(WorkerConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // Quarkus' "5ms" form
                .withSources(new MapBackedConfigSource("test", properties) {
                })
                .build();
        return config.getConfigMapping(WorkerConfig.class);
    }

    @Test
    void batchingIsOffByDefaultAndOneJobRunsAtATime() {
        WorkerConfig worker = read(Map.of());
        assertThat(worker.batch().maxJobs()).isEqualTo(1);
        assertThat(worker.batch().maxWait()).isEqualTo(Duration.ofMillis(5));
        assertThat(worker.concurrency()).isEqualTo(1);
    }

    @Test
    void concurrencyFollowsMaxJobsUnlessSet() {
        assertThat(read(Map.of("easel.worker.batch.max-jobs", "8")).concurrency()).isEqualTo(8);
        assertThat(read(Map.of("easel.worker.batch.max-jobs", "1")).concurrency()).as("batching off").isEqualTo(1);
        WorkerConfig set = read(Map.of("easel.worker.batch.max-jobs", "4", "easel.worker.concurrency", "6",
                "easel.worker.batch.max-wait", "20ms"));
        assertThat(set.concurrency()).isEqualTo(6);
        assertThat(set.batch().maxWait()).isEqualTo(Duration.ofMillis(20));
    }
}
