package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.contract.Job;
import dev.easel.contract.JobLimits;
import dev.easel.contract.JobParser;
import dev.easel.contract.Validated;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionModel;
import dev.easel.fixtures.RandomSdBundle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The LRU cache of rewritten models: an evicted model in use is closed only when its last job lets go. */
class RewrittenModelsTest {

    @TempDir
    static Path dir;
    private static DiffusionPipeline base;

    @BeforeAll
    static void load() throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        base = new DiffusionPipeline(StableDiffusionModel.load("sd", bundle, EngineOptions.cpu().withIntraOpThreads(1)),
                GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        base.model().close();
    }

    private static Job job(String rewrite) {
        String json = "{\"version\": 1, \"model\": \"sd\", \"prompt\": \"a cat\", \"rewrite\": " + rewrite + "}";
        return ((Validated.Valid<Job>) new JobParser(JobLimits.defaults())
                .parse(json.getBytes(StandardCharsets.UTF_8))).value();
    }

    @Test
    void evictedWhileInUseIsClosedOnRelease() {
        RewrittenModels cache = new RewrittenModels(1, GenerationLimits.defaults(), UnetBatcher.Settings.OFF);
        Job red = job("{\"erase\": [\"red\"]}");
        Job blue = job("{\"erase\": [\"blue\"]}");

        RewrittenModels.Lease first = cache.lease(red, base);
        try (RewrittenModels.Lease again = cache.lease(red, base)) {
            assertThat(again.pipeline()).isSameAs(first.pipeline());
        }
        RewrittenModels.Lease second = cache.lease(blue, base);
        // red was evicted for blue, but a job still holds it: not closed yet.
        assertThat(cache.cached()).isEqualTo(1);
        assertThat(cache.closes()).isZero();
        first.close();
        first.close(); // a second release does nothing
        assertThat(cache.closes()).isEqualTo(1);
        second.close();
        assertThat(cache.closes()).isEqualTo(1); // blue stays cached
        assertThat(cache.builds()).isEqualTo(2);
        cache.closeAll();
        assertThat(cache.closes()).isEqualTo(2);
    }

    @Test
    void aJobWithoutRewriteRunsOnTheBase() {
        RewrittenModels cache = new RewrittenModels(1, GenerationLimits.defaults(), UnetBatcher.Settings.OFF);
        Job plain = ((Validated.Valid<Job>) new JobParser(JobLimits.defaults()).parse(
                "{\"version\": 1, \"model\": \"sd\", \"prompt\": \"a cat\"}".getBytes(StandardCharsets.UTF_8))).value();
        try (RewrittenModels.Lease lease = cache.lease(plain, base)) {
            assertThat(lease.pipeline()).isSameAs(base);
        }
        assertThat(cache.builds()).isZero();
    }

    @Test
    void aSlowBuildHoldsUpOnlyTheJobsWithThatEdit() throws Exception {
        RewrittenModels cache = new RewrittenModels(2, GenerationLimits.defaults(), UnetBatcher.Settings.OFF);
        Job red = job("{\"erase\": [\"red\"]}");
        Job blue = job("{\"erase\": [\"blue\"]}");
        CountDownLatch building = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger redBuilds = new java.util.concurrent.atomic.AtomicInteger();
        cache.beforeBuild(key -> {
            if (key.rewrite().orElseThrow().erasures().contains("red")) {
                redBuilds.incrementAndGet();
                building.countDown();
                try {
                    finish.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<RewrittenModels.Lease> first = pool.submit(() -> cache.lease(red, base));
            assertThat(building.await(30, TimeUnit.SECONDS)).isTrue();
            Future<RewrittenModels.Lease> second = pool.submit(() -> cache.lease(red, base));
            // While red builds, another edit is built and leased, and released, without waiting.
            try (RewrittenModels.Lease other = cache.lease(blue, base)) {
                assertThat(other.pipeline()).isNotSameAs(base);
            }
            assertThat(first.isDone()).isFalse();
            assertThat(second.isDone()).isFalse();
            finish.countDown();
            try (RewrittenModels.Lease a = first.get(60, TimeUnit.SECONDS);
                 RewrittenModels.Lease b = second.get(60, TimeUnit.SECONDS)) {
                assertThat(b.pipeline()).isSameAs(a.pipeline()); // the second job waited for the first's build
            }
            assertThat(redBuilds.get()).isEqualTo(1);
            assertThat(cache.builds()).isEqualTo(2);
        } finally {
            finish.countDown();
            pool.shutdownNow();
            cache.closeAll();
        }
    }

    @Test
    void aFailedBuildNamesTheFieldAndIsTriedAgainByTheNextJob() {
        RewrittenModels cache = new RewrittenModels(2, GenerationLimits.defaults(), UnetBatcher.Settings.OFF);
        java.util.concurrent.atomic.AtomicInteger attempts = new java.util.concurrent.atomic.AtomicInteger();
        cache.beforeBuild(key -> attempts.incrementAndGet());
        Job wordless = job("{\"erase\": [\"  \"]}");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> cache.lease(wordless, base))
                    .isInstanceOfSatisfying(InvalidRequestException.class,
                            e -> assertThat(e.field()).isEqualTo("rewrite.erase"));
        }
        assertThat(attempts.get()).isEqualTo(2);
        assertThat(cache.cached()).isZero();
        assertThat(cache.closes()).isZero();
        cache.closeAll();
    }
}
