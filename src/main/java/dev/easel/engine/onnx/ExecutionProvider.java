package dev.easel.engine.onnx;

/** Where ONNX Runtime runs the models. */
public enum ExecutionProvider {
    /** The default: ONNX Runtime's CPU kernels. */
    CPU,
    /** NVIDIA GPUs through the CUDA provider (needs the onnxruntime_gpu build, CUDA 12, cuDNN 9). */
    CUDA
}
