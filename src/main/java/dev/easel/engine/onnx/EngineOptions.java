package dev.easel.engine.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How ONNX Runtime sessions are created. One set per loaded bundle; sessions are created once and
 * reused by every job.
 *
 * @param provider        CPU or CUDA
 * @param deviceId        CUDA device ordinal (ignored on CPU)
 * @param fallbackToCpu   when the CUDA provider cannot be loaded: warn and use the CPU (true) or fail (false)
 * @param intraOpThreads  threads inside one operator; 0 = one per core the JVM may use
 *                        ({@link Runtime#availableProcessors()}, which honours container CPU limits)
 * @param interOpThreads  threads across independent operators; 0 lets ONNX Runtime choose
 * @param optimization    graph optimisation level
 * @param spinning        which sessions' pool threads spin between runs instead of sleeping
 * @param optimizedCache  where optimized graphs are kept between starts (CPU sessions), or none
 */
public record EngineOptions(ExecutionProvider provider, int deviceId, boolean fallbackToCpu,
                            int intraOpThreads, int interOpThreads, OptLevel optimization, Spinning spinning,
                            Optional<Path> optimizedCache) {

    /**
     * Spinning keeps ONNX Runtime's pool threads busy-waiting for the next run: a run starts sooner,
     * but a spinning pool takes the cores from the Java threads between runs.
     */
    public enum Spinning {
        /** No session spins. */
        NONE,
        /** Only the denoising loop's UNet spins: its runs follow one another within milliseconds. */
        LOOP,
        /** Every session spins (ONNX Runtime's own default). */
        ALL
    }

    /** With the default spinning policy. */
    public EngineOptions(ExecutionProvider provider, int deviceId, boolean fallbackToCpu, int intraOpThreads,
                         int interOpThreads, OptLevel optimization) {
        this(provider, deviceId, fallbackToCpu, intraOpThreads, interOpThreads, optimization, DEFAULT_SPINNING,
                Optional.empty());
    }

    /**
     * The spinning policy chosen by measurement for one job at a time (docs/benchmarks.md, "Threads
     * and spinning"): the UNet's pool spins, 8 % off a job; the Java stages between its runs were
     * not slowed. With several jobs sharing the cores, {@link Spinning#NONE} (the worker's choice then).
     */
    public static final Spinning DEFAULT_SPINNING = Spinning.LOOP;

    /** The intra-op thread count sessions get: the configured one, else one per available core. */
    public int effectiveIntraOpThreads() {
        return intraOpThreads > 0 ? intraOpThreads : Runtime.getRuntime().availableProcessors();
    }

    public EngineOptions withSpinning(Spinning value) {
        return new EngineOptions(provider, deviceId, fallbackToCpu, intraOpThreads, interOpThreads, optimization, value,
                optimizedCache);
    }

    /** Keeps optimized graphs in {@code dir} so a second start skips graph optimization. */
    public EngineOptions withOptimizedCache(Path dir) {
        return new EngineOptions(provider, deviceId, fallbackToCpu, intraOpThreads, interOpThreads, optimization,
                spinning, Optional.of(dir));
    }

    public EngineOptions {
        if (deviceId < 0) {
            throw new IllegalArgumentException("deviceId must be >= 0, got " + deviceId);
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = ONNX Runtime's choice), got intra "
                    + intraOpThreads + ", inter " + interOpThreads);
        }
    }

    /** CPU, one intra-op thread per core, all graph optimisations. */
    public static EngineOptions cpu() {
        return new EngineOptions(ExecutionProvider.CPU, 0, true, 0, 0, OptLevel.ALL_OPT);
    }

    public EngineOptions withIntraOpThreads(int threads) {
        return new EngineOptions(provider, deviceId, fallbackToCpu, threads, interOpThreads, optimization, spinning,
                optimizedCache);
    }
}
