package dev.easel.engine.pipeline;

import dev.easel.engine.image.ClipImageProcessor;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.onnx.ClipModel;
import java.util.List;
import java.util.Optional;

/**
 * What CLIP judges images by for one request: similarity to the prompt (CLIPScore), or for a
 * directional edit the cosine between the image embedding's move from the input image and the text
 * direction target − source (StyleGAN-NADA's directional CLIP loss, Gal et al. 2021, as a score).
 * Text embeddings are computed once, at construction.
 */
final class ClipObjective {

    private final ClipModel clip;
    private final StageTimings.Clock clock;
    /** [D] unit-length prompt embedding. */
    private final float[] prompt;
    /** [D] unit-length edit direction and [D] unit-length input-image embedding, for edits. */
    private final Optional<float[]> direction;
    private final Optional<float[]> initImage;

    ClipObjective(ClipModel clip, GenerationRequest request, StageTimings.Clock clock) {
        this.clip = clip;
        this.clock = clock;
        long t0 = System.nanoTime();
        Optional<ClipOptions.Edit> edit = request.clip().edit();
        List<String> texts = edit.map(e -> List.of(request.prompt(), e.source(), e.target()))
                .orElse(List.of(request.prompt()));
        float[] embedded = clip.embedTexts(texts);
        int d = clip.dim();
        this.prompt = java.util.Arrays.copyOf(embedded, d);
        if (edit.isPresent()) {
            float[] dir = new float[d];
            for (int k = 0; k < d; k++) {
                dir[k] = embedded[2 * d + k] - embedded[d + k];
            }
            ClipModel.normalise(dir, d);
            RgbImage init = request.image().orElseThrow().init();
            this.direction = Optional.of(dir);
            this.initImage = Optional.of(clip.embedImages(ClipImageProcessor.unitPixels(init), 1, init.width(),
                    init.height()));
        } else {
            this.direction = Optional.empty();
            this.initImage = Optional.empty();
        }
        clock.clip += System.nanoTime() - t0;
    }

    /** [D] unit-length prompt embedding; do not modify. */
    float[] promptEmbedding() {
        return prompt;
    }

    /** Per-image CLIP cosine to the prompt and objective (the same, or the edit's directional cosine). */
    record Judgement(double[] cosine, double[] objective) {
    }

    /**
     * Judges {@code count} images.
     *
     * @param unit [count, 3, height, width] in [0, 1]
     */
    Judgement judge(float[] unit, int count, int width, int height) {
        long t0 = System.nanoTime();
        float[] images = clip.embedImages(unit, count, width, height);
        clock.clip += System.nanoTime() - t0;
        int d = clip.dim();
        double[] cosine = new double[count];
        double[] objective = new double[count];
        for (int j = 0; j < count; j++) {
            cosine[j] = dot(images, j * d, prompt, d);
            objective[j] = direction.isPresent() ? directional(images, j * d, d) : cosine[j];
        }
        return new Judgement(cosine, objective);
    }

    /** Judges final images as the PNGs will hold them. */
    Judgement judge(List<RgbImage> images) {
        RgbImage first = images.get(0);
        int per = 3 * first.width() * first.height();
        float[] unit = new float[images.size() * per];
        for (int j = 0; j < images.size(); j++) {
            System.arraycopy(ClipImageProcessor.unitPixels(images.get(j)), 0, unit, j * per, per);
        }
        return judge(unit, images.size(), first.width(), first.height());
    }

    /** CLIPScore as the issue asks: 100 · max(cosine, 0) (Hessel et al. 2021 use 2.5 instead of 100). */
    static double clipScore(double cosine) {
        return 100 * Math.max(cosine, 0);
    }

    private double directional(float[] images, int offset, int d) {
        float[] init = initImage.orElseThrow();
        float[] dir = direction.orElseThrow();
        double dot = 0;
        double norm = 0;
        for (int k = 0; k < d; k++) {
            double move = images[offset + k] - init[k];
            dot += move * dir[k];
            norm += move * move;
        }
        return norm == 0 ? 0 : dot / Math.sqrt(norm);
    }

    private static double dot(float[] a, int offset, float[] b, int d) {
        double sum = 0;
        for (int k = 0; k < d; k++) {
            sum += a[offset + k] * b[k];
        }
        return sum;
    }
}
