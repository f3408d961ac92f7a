package dev.easel.bench;

import dev.easel.demo.DemoBundle;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.UnetBatcher;
import dev.easel.engine.pipeline.Cancellation;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.ModelDefaults;
import dev.easel.engine.pipeline.ProgressListener;
import dev.easel.engine.pipeline.StableDiffusionModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Cross-job batching of UNet runs against one UNet run per job, side by side on one loaded model:
 * for each concurrency, that many threads submit jobs back to back (each a new seed) for a fixed
 * time, once through a pipeline with batching off and once with it on; jobs per second (jobs
 * finished ÷ the time until the last of them finished) and p50/p99 job latency.
 *
 * <pre>./mvnw test-compile exec:java@batch-bench [-Dexec.args="--seconds 20 --max-jobs 8"]</pre>
 * The demo model (src/demo-model/bundle) at its defaults (size, steps, guidance, scheduler) by
 * default. The last line is {@code batching: R× jobs/s at concurrency 8}, R = batched ÷ unbatched.
 */
@Command(name = "batch-bench", mixinStandardHelpOptions = true,
        description = "Jobs/s and latency with and without cross-job UNet batching.")
public final class BatchBenchmark implements Callable<Integer> {

    @Option(names = "--model", description = "Bundle directory (default: the demo model).")
    Path model = DemoBundle.DIR;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,2,4,8",
            description = "Concurrent jobs, one measurement each (default ${DEFAULT-VALUE}).")
    List<Integer> levels;

    @Option(names = "--seconds", defaultValue = "12", description = "Measured seconds per cell (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--rounds", defaultValue = "3",
            description = "Alternating slices of each cell's measured time (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "2", description = "Unmeasured seconds per cell first (default ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--max-jobs", defaultValue = "4",
            description = "easel.worker.batch.max-jobs of the batched runs (default ${DEFAULT-VALUE}).")
    int maxJobs;

    @Option(names = "--max-wait-ms", defaultValue = "5",
            description = "easel.worker.batch.max-wait of the batched runs, ms (default ${DEFAULT-VALUE}).")
    long maxWaitMs;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads, 0 = all cores (default ${DEFAULT-VALUE}).")
    int threads;

    public static void main(String[] args) {
        System.exit(new CommandLine(new BatchBenchmark()).execute(args));
    }

    /** One cell: jobs/s, latencies, and for batched runs the mean jobs per UNet run. */
    private record Cell(double jobsPerSecond, double p50, double p99, int jobs, double jobsPerRun) {
    }

    @Override
    public Integer call() throws Exception {
        try (StableDiffusionModel loaded = StableDiffusionModel.load(model,
                EngineOptions.cpu().withIntraOpThreads(threads))) {
            ModelDefaults defaults = loaded.defaults();
            DiffusionPipeline unbatched = new DiffusionPipeline(loaded, GenerationLimits.defaults());
            DiffusionPipeline batched = new DiffusionPipeline(loaded, GenerationLimits.defaults(),
                    new UnetBatcher.Settings(maxJobs, Duration.ofMillis(maxWaitMs)));
            System.out.printf(Locale.ROOT, "%s: %dx%d, %d steps %s, guidance %.1f; %.0f s measured per cell after"
                            + " %.0f s warm-up (%d alternating rounds); batched: max-jobs %d, max-wait %d ms; intra-op threads %s; %d cores%n",
                    loaded.name(), defaults.width(), defaults.height(), defaults.steps(),
                    loaded.config().defaultScheduler(), defaults.guidanceScale(), seconds, warmup, rounds, maxJobs, maxWaitMs,
                    threads == 0 ? "all" : threads, Runtime.getRuntime().availableProcessors());
            System.out.println("| concurrent jobs | unbatched jobs/s | batched jobs/s | speed-up | unbatched p50 / p99 s"
                    + " | batched p50 / p99 s | p99 ratio | jobs per UNet run |");
            System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
            double ratioAt8 = Double.NaN;
            AtomicLong seeds = new AtomicLong();
            for (int level : levels) {
                Cell[] cells = measure(List.of(unbatched, batched), defaults, level, seeds);
                Cell off = cells[0];
                Cell on = cells[1];
                double ratio = on.jobsPerSecond() / off.jobsPerSecond();
                if (level == 8) {
                    ratioAt8 = ratio;
                }
                System.out.printf(Locale.ROOT, "| %d | %.2f | %.2f | %.2f× | %.2f / %.2f | %.2f / %.2f | %.2f | %.2f |%n",
                        level, off.jobsPerSecond(), on.jobsPerSecond(), ratio, off.p50(), off.p99(), on.p50(), on.p99(),
                        on.p99() / off.p99(), on.jobsPerRun());
            }
            System.out.printf(Locale.ROOT, "batching: %.2f× jobs/s at concurrency 8%n", ratioAt8);
        }
        return 0;
    }

    /**
     * Warm-up, then {@code level} threads submitting jobs back to back, for each pipeline in turn,
     * in {@code rounds} alternating slices of the measured time (so that a machine whose load
     * changes meanwhile weighs on both alike).
     */
    private Cell[] measure(List<DiffusionPipeline> pipelines, ModelDefaults defaults, int level, AtomicLong seeds)
            throws InterruptedException {
        int n = pipelines.size();
        List<List<Double>> latencies = new ArrayList<>();
        double[] elapsed = new double[n];
        long[] steps = new long[n];
        long[] runs = new long[n];
        for (int p = 0; p < n; p++) {
            run(pipelines.get(p), defaults, level, seeds, warmup);
            latencies.add(new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            for (int p = 0; p < n; p++) {
                DiffusionPipeline pipeline = pipelines.get(p);
                UnetBatcher.Stats before = pipeline.batcher().map(UnetBatcher::stats).orElse(null);
                long start = System.nanoTime();
                latencies.get(p).addAll(run(pipeline, defaults, level, seeds, seconds / rounds));
                elapsed[p] += (System.nanoTime() - start) / 1e9;
                if (before != null) {
                    UnetBatcher.Stats after = pipeline.batcher().orElseThrow().stats();
                    steps[p] += after.steps() - before.steps();
                    runs[p] += after.runs() - before.runs();
                }
            }
        }
        Cell[] cells = new Cell[n];
        for (int p = 0; p < n; p++) {
            List<Double> sorted = latencies.get(p);
            Collections.sort(sorted);
            cells[p] = new Cell(sorted.size() / elapsed[p], percentile(sorted, 0.50), percentile(sorted, 0.99),
                    sorted.size(), runs[p] == 0 ? 1 : (double) steps[p] / runs[p]);
        }
        return cells;
    }

    /** Job latencies in seconds; returns when every thread has finished the job it was on at the deadline. */
    private static List<Double> run(DiffusionPipeline pipeline, ModelDefaults defaults, int level, AtomicLong seeds,
                                    double seconds) throws InterruptedException {
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        CountDownLatch done = new CountDownLatch(level);
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < level; t++) {
            Thread thread = new Thread(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        GenerationRequest request = GenerationRequest.builder("a big red circle on a blue background")
                                .size(defaults.width(), defaults.height()).steps(defaults.steps())
                                .guidanceScale(defaults.guidanceScale()).seed(seeds.incrementAndGet()).build();
                        long t0 = System.nanoTime();
                        pipeline.generate(request, ProgressListener.NONE, Cancellation.NONE);
                        latencies.add((System.nanoTime() - t0) / 1e9);
                    }
                } catch (RuntimeException | Error e) {
                    failures.add(e);
                } finally {
                    done.countDown();
                }
            }, "batch-bench-" + t);
            thread.start();
        }
        done.await();
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a benchmark job failed", failures.get(0));
        }
        return new ArrayList<>(latencies);
    }

    /** Nearest-rank percentile of sorted values. */
    private static double percentile(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }
}
