package dev.easel.engine.pipeline;

/**
 * Where one generation spent its time, in nanoseconds. ONNX stages (text encoder, UNet, VAE)
 * include the boundary copies into and out of their direct buffers.
 */
public record StageTimings(long tokenize, long textEncode, long vaeEncode, long unet, long scheduler,
                           long vaeDecode, long clip, long total) {

    /** Time in ONNX Runtime session runs. */
    public long onnx() {
        return textEncode + vaeEncode + unet + vaeDecode + clip;
    }

    /** Everything not in a named stage: validation, noise, guidance arithmetic, conversions. */
    public long glue() {
        return total - tokenize - textEncode - vaeEncode - unet - scheduler - vaeDecode - clip;
    }

    /** Accumulates stage times during one generation. */
    static final class Clock {
        private final long start = System.nanoTime();
        long tokenize;
        long textEncode;
        long vaeEncode;
        long unet;
        long scheduler;
        long vaeDecode;
        /** CLIP text and image embeddings and guidance-gradient runs. */
        long clip;

        StageTimings stop() {
            return new StageTimings(tokenize, textEncode, vaeEncode, unet, scheduler, vaeDecode, clip,
                    System.nanoTime() - start);
        }
    }
}
