package dev.easel.config;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.onnx.ExecutionProvider;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code easel.onnx.*}: how ONNX Runtime runs the worker's models (environment variables
 * {@code EASEL_ONNX_*}). One setting for every configured model; sessions are created once at load.
 */
@ConfigMapping(prefix = "easel.onnx")
public interface EngineConfig {

    /** {@code easel.onnx.provider}: {@code cpu} or {@code cuda} (needs the {@code -Pgpu} build). Default cpu. */
    @WithDefault("cpu")
    ExecutionProvider provider();

    /** {@code easel.onnx.device-id}: the CUDA device ordinal; ignored on the CPU. Default 0. */
    @WithDefault("0")
    int deviceId();

    /**
     * {@code easel.onnx.intra-op-threads}: threads inside one operator; 0 = one per core the JVM may
     * use (container CPU limits included). Default 0.
     */
    @WithDefault("0")
    int intraOpThreads();

    /** {@code easel.onnx.inter-op-threads}: threads across independent operators; 0 lets ONNX Runtime choose. Default 0. */
    @WithDefault("0")
    int interOpThreads();

    /**
     * {@code easel.onnx.optimization}: graph optimisation level, one of {@code no-opt},
     * {@code basic-opt}, {@code extended-opt}, {@code all-opt}. Default all-opt.
     */
    @WithDefault("all-opt")
    OptLevel optimization();

    /**
     * {@code easel.onnx.cpu-fallback}: when the CUDA provider cannot be loaded, warn and run on the
     * CPU (true) or fail the model's load (false). Default true.
     */
    @WithDefault("true")
    boolean cpuFallback();

    /**
     * {@code easel.onnx.spinning}: which ONNX Runtime thread pools spin between runs: {@code none},
     * {@code loop} (the UNet only: its runs follow each other within milliseconds) or {@code all}.
     * Default: {@code loop} when one job runs at a time ({@code easel.worker.concurrency} 1), else
     * {@code none} — measured (docs/benchmarks.md, "Threads and spinning"): a spinning UNet made a
     * job 8 % faster on cores of its own and 1.8× slower on cores shared with other work.
     */
    Optional<EngineOptions.Spinning> spinning();

    /**
     * {@code easel.onnx.optimized-cache}: a directory where ONNX Runtime's optimized graphs are kept,
     * keyed by model, ONNX Runtime version, provider, optimization level and CPU, so the next start
     * skips graph optimization (CPU sessions). Default: none.
     */
    Optional<Path> optimizedCache();

    /** The engine's options for these settings, for a worker running {@code concurrency} jobs at once. */
    default EngineOptions toEngineOptions(int concurrency) {
        EngineOptions.Spinning spin = spinning().orElse(concurrency > 1 ? EngineOptions.Spinning.NONE
                : EngineOptions.Spinning.LOOP);
        return new EngineOptions(provider(), deviceId(), cpuFallback(), intraOpThreads(), interOpThreads(), optimization(),
                spin, optimizedCache());
    }
}
