package dev.easel.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.Result;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.RandomSdBundle;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
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
 * The batcher on its own, on the random SD bundle's UNet (8×8 latents): every job's prediction
 * rows equal its own unbatched run's, whatever the others in its batch; max-jobs holds; a failing
 * run fails only the job whose rows fail it; a scalar-timestep UNet batches only equal timesteps.
 */
class UnetBatcherTest {

    private static final int SEQUENCE = 77;
    private static final int HIDDEN = 32;
    private static final int SIDE = 8;
    private static final Duration WAIT = Duration.ofMillis(200);
    /** The timestep at which the failing runner fails. */
    private static final double POISON = 999;

    @TempDir
    static Path dir;
    static OnnxSessions sessions;
    static Unet unet;

    @BeforeAll
    static void load() throws IOException {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        sessions = new OnnxSessions(EngineOptions.cpu().withIntraOpThreads(1));
        unet = new Unet(OnnxModel.open(sessions, bundle.resolve("unet/model.onnx")), sessions);
    }

    @AfterAll
    static void close() {
        unet.close();
    }

    /** One job: its rows, its conditioning, and the timesteps and inputs of its steps. */
    private record Job(int rows, UnetConditioning conditioning, double[] timesteps, List<float[]> inputs) {

        static Job random(long seed, int rows, double... timesteps) {
            Random random = new Random(seed);
            float[] hidden = new float[rows * SEQUENCE * HIDDEN];
            for (int i = 0; i < hidden.length; i++) {
                hidden[i] = (float) random.nextGaussian();
            }
            List<float[]> inputs = new ArrayList<>();
            for (double ignored : timesteps) {
                float[] input = new float[rows * 4 * SIDE * SIDE];
                for (int i = 0; i < input.length; i++) {
                    input[i] = (float) random.nextGaussian();
                }
                inputs.add(input);
            }
            return new Job(rows, UnetConditioning.text(hidden, SEQUENCE, HIDDEN), timesteps, inputs);
        }

        UnetRun.Shape shape() {
            return new UnetRun.Shape(rows, 4, 4, SIDE, SIDE);
        }

        /** Each step's prediction, or the step's exception. */
        List<Object> run(UnetSteps steps) {
            List<Object> outputs = new ArrayList<>();
            try (UnetStep step = steps.start(shape(), conditioning)) {
                for (int i = 0; i < timesteps.length; i++) {
                    float[] prediction = new float[rows * 4 * SIDE * SIDE];
                    try {
                        step.predict(inputs.get(i), timesteps[i], prediction);
                        outputs.add(prediction);
                    } catch (RuntimeException e) {
                        outputs.add(e);
                    }
                }
            }
            return outputs;
        }
    }

    /** Runs the jobs at once, one thread each. */
    private static List<List<Object>> together(UnetSteps steps, List<Job> jobs) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(jobs.size());
        try {
            CountDownLatch start = new CountDownLatch(jobs.size());
            List<Future<List<Object>>> futures = new ArrayList<>();
            for (Job job : jobs) {
                futures.add(threads.submit(() -> {
                    start.countDown();
                    start.await();
                    return job.run(steps);
                }));
            }
            List<List<Object>> results = new ArrayList<>();
            for (Future<List<Object>> future : futures) {
                results.add(future.get(2, TimeUnit.MINUTES));
            }
            return results;
        } finally {
            threads.shutdownNow();
        }
    }

    private static void assertSameAsAlone(List<Job> jobs, List<List<Object>> results) {
        for (int j = 0; j < jobs.size(); j++) {
            List<Object> alone = jobs.get(j).run(unet);
            for (int i = 0; i < alone.size(); i++) {
                if (jobs.get(j).timesteps()[i] != POISON && alone.get(i) instanceof float[] expected) {
                    assertThat(results.get(j).get(i)).as("job %d step %d", j, i).isInstanceOf(float[].class);
                    assertArrayEquals(expected, (float[]) results.get(j).get(i), 1e-4f, "job " + j + " step " + i);
                }
            }
        }
    }

    /** The session run, counting the rows of every run. */
    private static UnetBatcher.Runner counting(List<Integer> rowsPerRun) {
        return (inputs, outputs) -> {
            synchronized (rowsPerRun) {
                rowsPerRun.add((int) inputs.get(Unet.SAMPLE).getInfo().getShape()[0]);
            }
            try (Result ignored = unet.model().session().run(inputs, Set.of(), outputs)) {
                // pinned output
            }
        };
    }

    @Test
    void jobsOfEveryRowCountAndTimestepGetTheirOwnRows() throws Exception {
        List<Job> jobs = List.of(
                Job.random(1, 2, 981, 901, 801, 701, 601),
                Job.random(2, 1, 998, 950, 900),
                Job.random(3, 4, 500, 400, 300, 200, 100, 1),
                Job.random(4, 2, 981, 901, 801, 701, 601),
                Job.random(5, 1, 10, 20, 30, 40));
        List<Integer> rowsPerRun = new ArrayList<>();
        UnetBatcher batcher = new UnetBatcher(unet, new UnetBatcher.Settings(3, WAIT), counting(rowsPerRun));
        List<List<Object>> results = together(batcher, jobs);
        assertSameAsAlone(jobs, results);
        UnetBatcher.Stats stats = batcher.stats();
        assertThat(stats.steps()).isEqualTo(5 + 3 + 6 + 5 + 4);
        assertThat(stats.batchedRuns()).isPositive();
        assertThat(stats.largestBatch()).as("max-jobs").isEqualTo(3);
        assertThat(stats.runs()).isEqualTo(rowsPerRun.size()).isLessThan(stats.steps());
        assertThat(rowsPerRun).allSatisfy(rows -> assertThat(rows).isBetween(1, 2 + 4 + 2));
    }

    @Test
    void aFailingRunFailsOnlyTheJobThatFailsIt() throws Exception {
        UnetBatcher.Runner failing = (inputs, outputs) -> {
            FloatBuffer t = inputs.get(Unet.TIMESTEP).getFloatBuffer();
            while (t.hasRemaining()) {
                if (t.get() == POISON) {
                    throw new OrtException("poisoned timestep");
                }
            }
            try (Result ignored = unet.model().session().run(inputs, Set.of(), outputs)) {
                // pinned output
            }
        };
        UnetBatcher batcher = new UnetBatcher(unet, new UnetBatcher.Settings(4, WAIT), failing);
        List<Job> jobs = List.of(
                Job.random(11, 2, 900, 800, 700),
                Job.random(12, 1, 901, POISON, 701),
                Job.random(13, 2, 902, 802, 702));
        List<List<Object>> results = together(batcher, jobs);
        assertThat(results.get(1).get(1)).isInstanceOf(IllegalStateException.class);
        assertThat(((Exception) results.get(1).get(1)).getMessage()).contains("poisoned timestep");
        assertThat(results.get(1).get(0)).isInstanceOf(float[].class);
        assertThat(results.get(1).get(2)).as("the job's next step runs again").isInstanceOf(float[].class);
        assertSameAsAlone(jobs, results);
        assertThat(batcher.stats().batchedRuns()).isPositive();
    }

    @Test
    void aStepOfTheWrongSizeFailsInItsOwnJob() {
        UnetBatcher batcher = new UnetBatcher(unet, new UnetBatcher.Settings(4, WAIT));
        Job job = Job.random(21, 2, 900);
        try (UnetStep step = batcher.start(job.shape(), job.conditioning())) {
            assertThatThrownBy(() -> step.predict(new float[3], 900, new float[2 * 4 * SIDE * SIDE]))
                    .isInstanceOf(IllegalArgumentException.class);
            float[] prediction = new float[2 * 4 * SIDE * SIDE];
            step.predict(job.inputs().get(0), 900, prediction);
            assertArrayEquals((float[]) job.run(unet).get(0), prediction, 1e-4f);
        }
        assertThat(batcher.stats().runs()).isEqualTo(1);
    }

    @Test
    void aLoneJobDoesNotWait() {
        UnetBatcher batcher = new UnetBatcher(unet, new UnetBatcher.Settings(4, Duration.ofMinutes(10)));
        Job job = Job.random(31, 1, 900, 800, 700);
        long t0 = System.nanoTime();
        job.run(batcher);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMinutes(1));
        assertThat(batcher.stats().runs()).isEqualTo(3);
    }

    @Test
    void offGivesEachJobItsOwnRun() {
        UnetBatcher batcher = new UnetBatcher(unet, UnetBatcher.Settings.OFF);
        Job job = Job.random(41, 1, 900);
        try (UnetStep step = batcher.start(job.shape(), job.conditioning())) {
            assertThat(step).isInstanceOf(UnetRun.class);
        }
        assertThatThrownBy(() -> new UnetBatcher.Settings(0, WAIT)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aScalarTimestepUnetBatchesOnlyEqualTimesteps(@TempDir Path other) throws Exception {
        BundleVariants scalar = BundleVariants.DEFAULT.withTimestep(BundleVariants.TimestepKind.FLOAT32_SCALAR);
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults().withVariants(scalar)).writeTo(other);
        try (Unet scalarUnet = new Unet(OnnxModel.open(sessions, bundle.resolve("unet/model.onnx")), sessions)) {
            assertThat(scalarUnet.scalarTimestep()).isTrue();
            List<Integer> rowsPerRun = new ArrayList<>();
            UnetBatcher batcher = new UnetBatcher(scalarUnet, new UnetBatcher.Settings(4, WAIT), (inputs, outputs) -> {
                synchronized (rowsPerRun) {
                    rowsPerRun.add((int) inputs.get(Unet.SAMPLE).getInfo().getShape()[0]);
                }
                try (Result ignored = scalarUnet.model().session().run(inputs, Set.of(), outputs)) {
                    // pinned output
                }
            });
            List<Job> jobs = List.of(
                    Job.random(51, 2, 900, 800, 700),
                    Job.random(52, 1, 900, 800, 700),
                    Job.random(53, 2, 901, 801, 701));
            List<List<Object>> results = together(batcher, jobs);
            for (int j = 0; j < jobs.size(); j++) {
                List<Object> alone = jobs.get(j).run(scalarUnet);
                for (int i = 0; i < alone.size(); i++) {
                    assertArrayEquals((float[]) alone.get(i), (float[]) results.get(j).get(i), 1e-4f);
                }
            }
            // Jobs 0 and 1 share their timesteps (3 rows together); job 2 never joins them.
            assertThat(rowsPerRun).allSatisfy(rows -> assertThat(rows).isIn(1, 2, 3));
            assertThat(batcher.stats().batchedRuns()).isPositive();
        }
    }
}
