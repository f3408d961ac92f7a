package dev.easel.engine.onnx;

import java.util.Optional;

/**
 * What the UNet is conditioned on, one row per UNet batch entry: the text hidden states for
 * cross-attention and, for SDXL, the pooled text embedding and the micro-conditioning time ids.
 *
 * @param hidden     [batch, sequence, width] row-major
 * @param sequence   tokens per row (77, or 77·chunks for long prompts)
 * @param width      hidden width (768 SD 1.x, 1024 SD 2.x, 2048 SDXL base, 1280 SDXL refiner)
 * @param textEmbeds SDXL: [batch, projection] pooled embedding of the second encoder
 * @param timeIds    SDXL: [batch, 6] (original size, crop top-left, target size) or [batch, 5]
 *                   for the refiner (original size, crop top-left, aesthetic score)
 */
public record UnetConditioning(float[] hidden, int sequence, int width, Optional<float[]> textEmbeds,
                               Optional<float[]> timeIds) {

    /** SD 1.x/2.x conditioning: hidden states only. */
    public static UnetConditioning text(float[] hidden, int sequence, int width) {
        return new UnetConditioning(hidden, sequence, width, Optional.empty(), Optional.empty());
    }

    /** UNet batch size these rows are for. */
    public int batch() {
        return hidden.length / (sequence * width);
    }

    /** The per-row width of an optional input, or 0 when absent. */
    static int rowWidth(Optional<float[]> rows, int batch) {
        return rows.map(values -> values.length / batch).orElse(0);
    }
}
