package dev.easel.engine.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;

/**
 * How ONNX Runtime sessions are created. One set per loaded bundle; sessions are created once and
 * reused by every job.
 *
 * @param provider        CPU or CUDA
 * @param deviceId        CUDA device ordinal (ignored on CPU)
 * @param fallbackToCpu   when the CUDA provider cannot be loaded: warn and use the CPU (true) or fail (false)
 * @param intraOpThreads  threads inside one operator; 0 lets ONNX Runtime choose (one per core)
 * @param interOpThreads  threads across independent operators; 0 lets ONNX Runtime choose
 * @param optimization    graph optimisation level
 */
public record EngineOptions(ExecutionProvider provider, int deviceId, boolean fallbackToCpu,
                            int intraOpThreads, int interOpThreads, OptLevel optimization) {

    public EngineOptions {
        if (deviceId < 0) {
            throw new IllegalArgumentException("deviceId must be >= 0, got " + deviceId);
        }
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = ONNX Runtime's choice), got intra "
                    + intraOpThreads + ", inter " + interOpThreads);
        }
    }

    /** CPU, ONNX Runtime's thread defaults, all graph optimisations. */
    public static EngineOptions cpu() {
        return new EngineOptions(ExecutionProvider.CPU, 0, true, 0, 0, OptLevel.ALL_OPT);
    }

    public EngineOptions withIntraOpThreads(int threads) {
        return new EngineOptions(provider, deviceId, fallbackToCpu, threads, interOpThreads, optimization);
    }
}
