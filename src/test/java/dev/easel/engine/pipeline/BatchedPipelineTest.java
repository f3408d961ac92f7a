package dev.easel.engine.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.onnx.UnetStep;
import dev.easel.engine.onnx.UnetSteps;
import dev.easel.fixtures.RandomSdBundle;
import dev.easel.fixtures.RandomSdxlBundle;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs that run at once through a pipeline with batching on share UNet runs, and each job's
 * pictures are still the ones it gets on its own: whatever its scheduler, steps, guidance, seed or
 * image count, within 1/255 per channel (batched and single runs may pick different kernels). A
 * job that is cancelled or leaves early does not hold up or change the others.
 */
class BatchedPipelineTest {

    private static final Duration WAIT = Duration.ofMillis(200);

    @TempDir
    static Path dir;
    static StableDiffusionModel model;
    static DiffusionPipeline alone;

    @BeforeAll
    static void load() throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        model = StableDiffusionModel.load(bundle, EngineOptions.cpu().withIntraOpThreads(1));
        alone = new DiffusionPipeline(model, GenerationLimits.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationRequest.Builder request(String scheduler, int steps, float guidance, long seed) {
        return GenerationRequest.builder("a big red circle on a blue background").size(64, 64).scheduler(scheduler)
                .steps(steps).guidanceScale(guidance).seed(seed);
    }

    /** Every job's pictures, each job on its own thread, started together. */
    private static List<GenerationResult> together(DiffusionPipeline pipeline, List<GenerationRequest> requests,
                                                   List<Cancellation> cancellations) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(requests.size());
        try {
            CountDownLatch start = new CountDownLatch(requests.size());
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (int j = 0; j < requests.size(); j++) {
                GenerationRequest request = requests.get(j);
                Cancellation cancellation = cancellations.get(j);
                futures.add(threads.submit(() -> {
                    start.countDown();
                    start.await();
                    return pipeline.generate(request, ProgressListener.NONE, cancellation);
                }));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Future<GenerationResult> future : futures) {
                try {
                    results.add(future.get(5, TimeUnit.MINUTES));
                } catch (java.util.concurrent.ExecutionException e) {
                    results.add(null);
                    assertThat(e.getCause()).isInstanceOf(GenerationCancelledException.class);
                }
            }
            return results;
        } finally {
            threads.shutdownNow();
        }
    }

    private static void assertSamePictures(GenerationResult expected, GenerationResult actual, String job) {
        assertThat(actual.images()).hasSameSizeAs(expected.images());
        for (int i = 0; i < expected.images().size(); i++) {
            byte[] a = expected.images().get(i).image().rgb();
            byte[] b = actual.images().get(i).image().rgb();
            assertThat(b).hasSameSizeAs(a);
            int worst = 0;
            for (int k = 0; k < a.length; k++) {
                worst = Math.max(worst, Math.abs((a[k] & 0xFF) - (b[k] & 0xFF)));
            }
            assertThat(worst).as("largest channel difference of %s, image %d", job, i).isLessThanOrEqualTo(1);
        }
    }

    @Test
    void mixedJobsShareRunsAndKeepTheirPictures() throws Exception {
        List<GenerationRequest> requests = List.of(
                request("euler", 6, 7.5f, 1).build(),
                request("euler_a", 4, 7.5f, 2).numImages(2).build(),
                request("ddim", 8, 1f, 3).build(),
                request("dpmpp_2m", 5, 5f, 4).numImages(2).build(),
                request("lcm", 4, 1f, 5).build(),
                request("euler", 7, 3f, 6).build());
        DiffusionPipeline batched = new DiffusionPipeline(model, GenerationLimits.defaults(),
                new UnetBatcher.Settings(3, WAIT));
        List<GenerationResult> results = together(batched, requests, List.of(Cancellation.NONE, Cancellation.NONE,
                Cancellation.NONE, Cancellation.NONE, Cancellation.NONE, Cancellation.NONE));
        for (int j = 0; j < requests.size(); j++) {
            GenerationResult reference = alone.generate(requests.get(j), ProgressListener.NONE, Cancellation.NONE);
            assertSamePictures(reference, results.get(j), "job " + j + " (" + requests.get(j).scheduler().orElseThrow()
                    + ")");
        }
        UnetBatcher.Stats stats = batched.batcher().orElseThrow().stats();
        assertThat(stats.batchedRuns()).as("runs with more than one job").isPositive();
        assertThat(stats.largestBatch()).as("max-jobs").isEqualTo(3);
        assertThat(stats.steps()).isEqualTo(6 + 4 + 8 + 5 + 4 + 7);
        assertThat(stats.runs()).isLessThan(stats.steps());
    }

    @Test
    void aCancelledJobLeavesTheOthersFinishing() throws Exception {
        List<GenerationRequest> requests = List.of(
                request("euler", 8, 7.5f, 11).build(),
                request("ddim", 8, 7.5f, 12).build(),
                request("dpmpp_2m", 6, 1f, 13).numImages(2).build());
        AtomicInteger checks = new AtomicInteger();
        Cancellation afterThreeSteps = () -> {
            if (checks.incrementAndGet() > 3) {
                throw new GenerationCancelledException("cancelled");
            }
        };
        DiffusionPipeline batched = new DiffusionPipeline(model, GenerationLimits.defaults(),
                new UnetBatcher.Settings(4, WAIT));
        List<GenerationResult> results = together(batched, requests,
                List.of(Cancellation.NONE, afterThreeSteps, Cancellation.NONE));
        assertThat(results.get(1)).as("the cancelled job").isNull();
        for (int j : new int[] {0, 2}) {
            GenerationResult reference = alone.generate(requests.get(j), ProgressListener.NONE, Cancellation.NONE);
            assertSamePictures(reference, results.get(j), "job " + j);
        }
        UnetBatcher.Stats stats = batched.batcher().orElseThrow().stats();
        assertThat(stats.batchedRuns()).isPositive();
        assertThat(stats.steps()).isEqualTo(8 + 3 + 6);
        assertThatThrownBy(() -> batched.generate(requests.get(1), ProgressListener.NONE, () -> {
            throw new GenerationCancelledException("at once");
        })).isInstanceOf(GenerationCancelledException.class);
    }

    @Test
    void batchingOffIsTheUnbatchedPipeline() {
        DiffusionPipeline off = new DiffusionPipeline(model, GenerationLimits.defaults(), UnetBatcher.Settings.OFF);
        assertThat(off.batcher()).isEmpty();
    }

    @Test
    void sdxlJobsShareRunsToo(@TempDir Path other) throws Exception {
        Path bundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(other.resolve("xl"));
        try (StableDiffusionModel xl = StableDiffusionModel.load(bundle, EngineOptions.cpu().withIntraOpThreads(1))) {
            List<GenerationRequest> requests = List.of(
                    request("euler", 4, 5f, 21).build(),
                    request("euler_a", 3, 1f, 22).build(),
                    request("ddim", 5, 5f, 23).numImages(2).build());
            DiffusionPipeline batched = new DiffusionPipeline(xl, GenerationLimits.defaults(),
                    new UnetBatcher.Settings(4, WAIT));
            List<GenerationResult> results = together(batched, requests,
                    List.of(Cancellation.NONE, Cancellation.NONE, Cancellation.NONE));
            DiffusionPipeline xlAlone = new DiffusionPipeline(xl, GenerationLimits.defaults());
            for (int j = 0; j < requests.size(); j++) {
                assertSamePictures(xlAlone.generate(requests.get(j), ProgressListener.NONE, Cancellation.NONE),
                        results.get(j), "SDXL job " + j);
            }
            assertThat(batched.batcher().orElseThrow().stats().batchedRuns()).isPositive();
        }
    }

    /**
     * SDXL jobs with a refiner run its steps through the refiner pipeline's batcher (its lane, its
     * UNet), share its runs, and each keeps its unbatched pictures. Whether jobs reach the refiner
     * together is timing (the first to arrive would run alone, being everyone in the lane), so each
     * job's refiner stage waits at its start until all three have opened the lane.
     */
    @Test
    void refinerStagesShareTheRefinersRuns(@TempDir Path other) throws Exception {
        EngineOptions options = EngineOptions.cpu().withIntraOpThreads(1);
        Path baseBundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.defaults()).writeTo(other.resolve("xl"));
        Path refinerBundle = RandomSdxlBundle.create(RandomSdxlBundle.Spec.refiner()).writeTo(other.resolve("refiner"));
        try (StableDiffusionModel xl = StableDiffusionModel.load(baseBundle, options);
             StableDiffusionModel refinerModel = StableDiffusionModel.load(refinerBundle, options)) {
            DiffusionPipeline base = new DiffusionPipeline(xl, GenerationLimits.defaults(),
                    new UnetBatcher.Settings(4, WAIT));
            // A long wait: once the three are in the lane, a run starts when all of them have handed in a step.
            DiffusionPipeline refiner = new DiffusionPipeline(refinerModel, GenerationLimits.defaults(),
                    new UnetBatcher.Settings(4, Duration.ofSeconds(30)));
            List<GenerationRequest.Builder> jobs = List.of(
                    request("euler", 6, 5f, 31),
                    request("ddim", 6, 5f, 32).numImages(2),
                    request("euler_a", 6, 1f, 33));
            UnetSteps lane = refiner.asRefiner(0.5).unet();
            CountDownLatch inLane = new CountDownLatch(jobs.size());
            UnetSteps gated = (shape, conditioning) -> {
                UnetStep steps = lane.start(shape, conditioning);
                inLane.countDown();
                try {
                    assertThat(inLane.await(1, TimeUnit.MINUTES)).as("all three jobs reach the refiner").isTrue();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
                return steps;
            };
            List<GenerationRequest> batchedRequests = jobs.stream()
                    .map(j -> j.refiner(new Refiner(refinerModel, 0.5, gated)).build()).toList();
            List<GenerationResult> results = together(base, batchedRequests,
                    List.of(Cancellation.NONE, Cancellation.NONE, Cancellation.NONE));

            DiffusionPipeline xlAlone = new DiffusionPipeline(xl, GenerationLimits.defaults());
            for (int j = 0; j < jobs.size(); j++) {
                GenerationRequest unbatched = jobs.get(j).refiner(new Refiner(refinerModel, 0.5)).build();
                assertSamePictures(xlAlone.generate(unbatched, ProgressListener.NONE, Cancellation.NONE),
                        results.get(j), "refined SDXL job " + j);
            }
            UnetBatcher.Stats refined = refiner.batcher().orElseThrow().stats();
            long baseSteps = base.batcher().orElseThrow().stats().steps();
            assertThat(refined.steps()).as("refiner steps through its batcher").isPositive();
            assertThat(baseSteps).as("base steps").isPositive();
            assertThat(baseSteps + refined.steps()).as("every step of the three jobs, once").isEqualTo(3 * 6);
            assertThat(refined.batchedRuns()).as("refiner runs with more than one job").isPositive();
        }
    }
}
