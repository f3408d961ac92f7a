package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.fixtures.BundleVariants;
import dev.easel.fixtures.OracleBundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** An oracle bundle written to disk and loaded by the engine, with its Java mirror beside it. */
record OracleModels(OracleBundle oracle, StableDiffusionModel model, DiffusionPipeline pipeline)
        implements AutoCloseable {

    static OracleModels write(Path dir, BundleVariants variants) {
        OracleBundle oracle = OracleBundle.create(OracleBundle.Spec.defaults().withVariants(variants));
        try {
            oracle.writeTo(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StableDiffusionModel model = StableDiffusionModel.load(dir, EngineOptions.cpu().withIntraOpThreads(1));
        return new OracleModels(oracle, model, new DiffusionPipeline(model, GenerationLimits.defaults()));
    }

    ClipTokenizer tokenizer() {
        return model.config().tokenizer();
    }

    /** The colour text-to-image must end on for {@code prompt} at guidance ≤ 1. */
    float[] colour(String prompt) {
        return oracle.expectedColour(tokenizer().encodePadded(prompt));
    }

    /** The clean latents guidance {@code scale} steers to: x0(neg) + scale·(x0(prompt) − x0(neg)). */
    float[] guidedTarget(String prompt, String negative, float scale) {
        float[] cond = oracle.targetLatents(tokenizer().encodePadded(prompt));
        float[] uncond = oracle.targetLatents(tokenizer().encodePadded(negative));
        float[] out = new float[cond.length];
        for (int c = 0; c < out.length; c++) {
            out[c] = uncond[c] + scale * (cond[c] - uncond[c]);
        }
        return out;
    }

    /** The decoded colour of clean latents {@code z} (before the pipeline's 1/scaling_factor). */
    float[] decode(float[] z) {
        float[] scaled = new float[z.length];
        for (int c = 0; c < z.length; c++) {
            scaled[c] = z[c] / model.geometry().scalingFactor();
        }
        return oracle.decodePixel(scaled);
    }

    /** Each 8×8 pixel block is the oracle decoder's colour of its latent cell: [1, C, h, w] latents. */
    void assertDecodes(dev.easel.engine.image.RgbImage image, float[] latents, int tolerance) {
        int f = model.geometry().vaeScaleFactor();
        int w = image.width() / f;
        int h = image.height() / f;
        int channels = latents.length / (w * h);
        for (int cy = 0; cy < h; cy++) {
            for (int cx = 0; cx < w; cx++) {
                float[] z = new float[channels];
                for (int c = 0; c < channels; c++) {
                    z[c] = latents[(c * h + cy) * w + cx];
                }
                Pixels.assertRegion(image, cx * f, cy * f, (cx + 1) * f, (cy + 1) * f, decode(z), tolerance);
            }
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
