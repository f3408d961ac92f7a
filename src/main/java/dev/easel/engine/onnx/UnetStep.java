package dev.easel.engine.onnx;

/**
 * One job's UNet, step by step: its own tensors ({@link UnetRun}) or its seat in a batch shared
 * with other jobs ({@link UnetBatcher}). Not thread-safe: one job's loop calls it.
 */
public interface UnetStep extends AutoCloseable {

    /**
     * Predicts noise (or v) for one step.
     *
     * @param modelInput [batch, inChannels, height, width]
     * @param t          the scheduler's timestep (rounded for integer timestep inputs)
     * @param prediction [batch, outChannels, height, width], overwritten
     */
    void predict(float[] modelInput, double t, float[] prediction);

    /** Gives the job's tensors back, or leaves the batch. */
    @Override
    void close();
}
